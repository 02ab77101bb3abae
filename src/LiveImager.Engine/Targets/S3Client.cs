using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using Serilog;

namespace LiveImager.Engine.Targets;

/// <summary>The S3 requests this tool needs, signed with AWS Signature V4 on <see cref="HttpClient"/>: object HEAD,
/// ranged GET, ListObjectsV2, and multipart upload (create, upload part, complete, abort).</summary>
/// <remarks>Our own client rather than AWSSDK.S3: the SDK's core pulls in its configuration and credential chains
/// (profiles, IMDS, SSO) and reflection-based marshalling we do not want in the NativeAOT binary, and it buffers parts
/// in its own memory; these few calls are about 400 lines, with every buffer our own and no trim warning. TLS
/// certificates are checked against the system's roots, or against a lab's own CA given by <c>--ca-file</c>.</remarks>
public sealed class S3Client : IDisposable
{
    /// <summary>Tries per request before a transient failure (network, 5xx, 429) is reported.</summary>
    public const int Attempts = 4;

    private readonly HttpClient _http;
    private readonly S3Signer _signer;
    private readonly StoreLocation _location;
    private readonly string _baseUrl;
    private readonly string _bucketPath;

    public S3Client(StoreLocation location, S3Credentials credentials, string? caFile = null)
    {
        if (location.Kind != StoreKind.S3)
        {
            throw new ArgumentException("not an s3:// location", nameof(location));
        }
        _location = location;
        S3Addressing addressing = location.S3 ?? new S3Addressing();
        _signer = new S3Signer(credentials.AccessKey, credentials.SecretKey, addressing.Region, credentials.SessionToken);
        string scheme = addressing.PlainHttp ? "http" : "https";
        string host = location.Host!.Contains(':') ? $"[{location.Host}]" : location.Host!;
        string port = location.Port is { } p ? $":{p}" : "";
        _baseUrl = addressing.VirtualHost ? $"{scheme}://{location.Share}.{host}{port}" : $"{scheme}://{host}{port}";
        _bucketPath = addressing.VirtualHost ? "" : "/" + location.Share;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        if (caFile is not null)
        {
            X509Certificate2Collection roots = LoadCa(caFile);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => TrustedBy(roots, certificate, errors),
            };
        }
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
    }

    /// <summary>The store, for messages (never a secret).</summary>
    public StoreLocation Location => _location;

    /// <summary>The object key of <paramref name="name"/> under the location's prefix.</summary>
    public string KeyOf(string name) => _location.Path == "/" ? name : _location.Path.TrimStart('/') + "/" + name;

    /// <summary>Lists the bucket with the location's prefix once (one key at most), so a wrong key or secret, a missing
    /// bucket or a refused login is reported before any work starts.</summary>
    public void CheckAccess(CancellationToken cancellationToken = default) =>
        List(maxKeys: 1, cancellationToken);

    /// <summary>The objects directly under the location's prefix (not deeper), by key, at most
    /// <paramref name="maxKeys"/>; pages through ListObjectsV2.</summary>
    public IReadOnlyList<(string Name, long Size)> List(int maxKeys = 100_000, CancellationToken cancellationToken = default)
    {
        string prefix = _location.Path == "/" ? "" : _location.Path.TrimStart('/') + "/";
        var objects = new List<(string, long)>();
        string? token = null;
        do
        {
            string query = $"delimiter=%2F&list-type=2&max-keys={Math.Min(1000, maxKeys)}&prefix={S3Signer.Encode(prefix)}" +
                (token is null ? "" : $"&continuation-token={S3Signer.Encode(token)}");
            XElement result = SendXml(HttpMethod.Get, "", query, cancellationToken);
            foreach (XElement content in Children(result, "Contents"))
            {
                string key = Child(content, "Key") ?? "";
                if (key.Length > prefix.Length && long.TryParse(Child(content, "Size"), out long size) && size >= 0)
                {
                    objects.Add((key[prefix.Length..], size));
                }
            }
            token = Child(result, "IsTruncated") == "true" ? Child(result, "NextContinuationToken") : null;
        }
        while (token is not null && objects.Count < maxKeys);
        return objects;
    }

    /// <summary>The object's length, or null when there is no such object.</summary>
    public long? Length(string key, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = Send(HttpMethod.Head, key, "", null, cancellationToken, allowNotFound: true);
        return response.StatusCode == HttpStatusCode.NotFound ? null : response.Content.Headers.ContentLength ?? 0;
    }

    /// <summary>Reads <paramref name="buffer"/>'s length of bytes from <paramref name="offset"/> with one ranged GET
    /// (retried on a transient failure); returns how many came, fewer only at the object's end.</summary>
    public int Read(string key, long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using HttpResponseMessage response = Send(HttpMethod.Get, key, "", null, cancellationToken,
                    range: $"bytes={offset}-{offset + buffer.Length - 1}", retry: false);
                using Stream body = response.Content.ReadAsStream(cancellationToken);
                return body.ReadAtLeast(buffer.Span, buffer.Length, throwOnEndOfStream: false);
            }
            catch (IOException e) when (e is not StoreException && attempt < Attempts && !cancellationToken.IsCancellationRequested)
            {
                Log.Warning("Reading {Key} at {Offset} from {Store} failed ({Problem}); trying again", key, offset, _location.ToString(), e.Message);
                Backoff(attempt, cancellationToken);
            }
        }
    }

    /// <summary>Starts a multipart upload of <paramref name="key"/> and returns its upload id.</summary>
    public string CreateUpload(string key, CancellationToken cancellationToken = default)
    {
        XElement result = SendXml(HttpMethod.Post, key, "uploads", cancellationToken);
        return Child(result, "UploadId") is { Length: > 0 } id ? id
            : throw new StoreException(StoreProblem.MountFailed, $"{_location}: the server started an upload of {key} without an upload id");
    }

    /// <summary>Uploads part <paramref name="number"/> (1..10000) and returns its ETag; a transient failure is retried
    /// <see cref="Attempts"/> times in all, then reported naming the part.</summary>
    public string UploadPart(string key, string uploadId, int number, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        string hash = S3Signer.Hash(data.Span);
        using HttpResponseMessage response = Send(HttpMethod.Put, key, $"partNumber={number}&uploadId={S3Signer.Encode(uploadId)}",
            () => new ReadOnlyMemoryContent(data), cancellationToken, payloadHash: hash, what: $"part {number} of the upload of {key}");
        return response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var tags) ? tags.First() : null)
            ?? throw new StoreException(StoreProblem.MountFailed, $"{_location}: the server stored part {number} of {key} without an ETag");
    }

    /// <summary>Joins the parts, in order, into the object: only now does it appear under its key.</summary>
    public void CompleteUpload(string key, string uploadId, IReadOnlyList<string> etags, CancellationToken cancellationToken = default)
    {
        var body = new StringBuilder("<CompleteMultipartUpload>");
        for (int i = 0; i < etags.Count; i++)
        {
            body.Append($"<Part><PartNumber>{i + 1}</PartNumber><ETag>{System.Security.SecurityElement.Escape(etags[i])}</ETag></Part>");
        }
        body.Append("</CompleteMultipartUpload>");
        byte[] bytes = Encoding.UTF8.GetBytes(body.ToString());
        using HttpResponseMessage response = Send(HttpMethod.Post, key, $"uploadId={S3Signer.Encode(uploadId)}",
            () => new ByteArrayContent(bytes), cancellationToken, payloadHash: S3Signer.Hash(bytes), what: $"completing the upload of {key}");
        // S3 may answer 200 and still fail the completion in the body (the AWS S3 API reference, CompleteMultipartUpload).
        string text = response.Content.ReadAsStringAsync(cancellationToken).GetAwaiter().GetResult();
        if (text.Contains("<Error>", StringComparison.Ordinal))
        {
            throw Failure(response.StatusCode, text, key, "completing the upload");
        }
    }

    /// <summary>Aborts the upload so that its parts are freed (and cost nothing).</summary>
    public void AbortUpload(string key, string uploadId, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = Send(HttpMethod.Delete, key, $"uploadId={S3Signer.Encode(uploadId)}", null, cancellationToken,
            what: $"aborting the upload of {key}");
    }

    /// <summary>Writes a small object in one request (the unattended mode's results); it appears whole or not at all.</summary>
    public void Put(string key, byte[] data, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = Send(HttpMethod.Put, key, "", () => new ByteArrayContent(data), cancellationToken,
            payloadHash: S3Signer.Hash(data), what: $"writing {key}");
    }

    /// <summary>Deletes an object (a replaced image with <c>--force</c>); a missing one is no error.</summary>
    public void Delete(string key, CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = Send(HttpMethod.Delete, key, "", null, cancellationToken, allowNotFound: true);
    }

    private XElement SendXml(HttpMethod method, string key, string query, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = Send(method, key, query, null, cancellationToken);
        string text = response.Content.ReadAsStringAsync(cancellationToken).GetAwaiter().GetResult();
        try
        {
            return XDocument.Parse(text).Root ?? throw new System.Xml.XmlException("no root element");
        }
        catch (System.Xml.XmlException e)
        {
            throw new StoreException(StoreProblem.MountFailed, $"{_location}: the server's answer is not S3's XML ({e.Message})", e);
        }
    }

    /// <summary>Signs and sends one request, trying again on a transient failure; a failure left is thrown as a
    /// <see cref="StoreException"/> in plain words.</summary>
    private HttpResponseMessage Send(HttpMethod method, string key, string query, Func<HttpContent>? content, CancellationToken cancellationToken,
        string? payloadHash = null, string? range = null, bool allowNotFound = false, bool retry = true, string? what = null)
    {
        Uri uri = RequestUri(key, query);
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, uri) { Content = content?.Invoke() };
            if (range is not null)
            {
                request.Headers.TryAddWithoutValidation("Range", range);
            }
            _signer.Sign(request, payloadHash ?? S3Signer.EmptyPayloadHash, DateTimeOffset.UtcNow);
            HttpResponseMessage response;
            try
            {
                response = _http.Send(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
            {
                // A refused certificate is named so by the runtime; anything else failed the handshake itself, as when
                // the server speaks plain HTTP.
                throw new StoreException(StoreProblem.Refused, e.InnerException.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase)
                    ? $"the TLS certificate of {_location.Host} is not trusted ({e.InnerException.Message}). For a lab's own CA give --ca-file CA.pem."
                    : $"the TLS handshake with {_location.Host} on port {_location.Port ?? DefaultPort} failed ({e.InnerException.Message}); " +
                      "if it is a plain-HTTP lab server, add ?tls=0 to the URL.", e);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (retry && attempt < Attempts)
                {
                    Log.Warning("{What} at {Store} failed ({Problem}); trying again", what ?? $"{method} {key}", _location.ToString(), e.Message);
                    Backoff(attempt, cancellationToken);
                    continue;
                }
                string why = e is TaskCanceledException ? "no answer in time" : e.Message;
                throw new StoreException(StoreProblem.HostUnreachable, (what is null ? "" : $"{what}: ") +
                    $"cannot reach {_location.Host} on port {_location.Port ?? DefaultPort}: {why}" +
                    (retry ? $" (tried {attempt} times)" : "") + ". Check the address, the network and that the server is on.", e);
            }
            if (response.IsSuccessStatusCode || (allowNotFound && response.StatusCode == HttpStatusCode.NotFound && method != HttpMethod.Get))
            {
                return response;
            }
            using (response)
            {
                string body = method == HttpMethod.Head ? "" : ReadBody(response, cancellationToken);
                bool transient = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;
                if (transient && retry && attempt < Attempts)
                {
                    Log.Warning("{What} at {Store}: the server answered {Status}; trying again", what ?? $"{method} {key}", _location.ToString(),
                        (int)response.StatusCode);
                    Backoff(attempt, cancellationToken);
                    continue;
                }
                throw Failure(response.StatusCode, body, key, what, transient ? attempt : 0);
            }
        }
    }

    /// <summary>Where a request for <paramref name="key"/> ("" for the bucket itself) goes: <c>host/bucket/key</c>
    /// (path style) or <c>bucket.host/key</c> (virtual host), each key segment percent-encoded.</summary>
    internal Uri RequestUri(string key, string query)
    {
        // A bucket's own requests go to "/bucket" (path style) or "/" (virtual host), as the AWS SDKs send them.
        string path = key.Length == 0
            ? (_bucketPath.Length == 0 ? "/" : _bucketPath)
            : _bucketPath + "/" + string.Join('/', key.Split('/').Select(S3Signer.Encode));
        return new Uri(_baseUrl + path + (query.Length == 0 ? "" : "?" + query));
    }

    private int DefaultPort => _location.S3?.PlainHttp == true ? 80 : 443;

    private static string ReadBody(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return response.Content.ReadAsStringAsync(cancellationToken).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return "";
        }
    }

    /// <summary>An S3 error answer (the API reference's "Error responses": <c>&lt;Error&gt;&lt;Code&gt;</c>) in plain words.</summary>
    private StoreException Failure(HttpStatusCode status, string body, string key, string? what, int attempts = 0)
    {
        string? code = null;
        string? message = null;
        if (body.Length > 0)
        {
            try
            {
                XElement? root = XDocument.Parse(body).Root;
                code = root is null ? null : Child(root, "Code");
                message = root is null ? null : Child(root, "Message");
            }
            catch (System.Xml.XmlException)
            {
                // Not S3's XML (a proxy's page): the status says enough.
            }
        }
        string prefix = what is null ? $"{_location}: " : $"{_location}: {what}: ";
        string bucket = _location.Share!;
        string login = _signer.AccessKey;
        (StoreProblem problem, string words) = (code, status) switch
        {
            ("InvalidAccessKeyId", _) => (StoreProblem.LoginRefused, $"the server does not know the access key {login}"),
            ("SignatureDoesNotMatch", _) => (StoreProblem.LoginRefused,
                $"wrong secret key for access key {login} (the server's signature check failed; check the clock too if the secret is right)"),
            ("RequestTimeTooSkewed", _) => (StoreProblem.LoginRefused, "this computer's clock is too far from the server's; set the date"),
            ("NoSuchBucket", _) => (StoreProblem.NotFound, $"there is no bucket '{bucket}' on {_location.Host}"),
            ("NoSuchKey", _) or (null, HttpStatusCode.NotFound) => (StoreProblem.NotFound, $"there is no object {key} in bucket '{bucket}'"),
            ("NoSuchUpload", _) => (StoreProblem.MountFailed, "the server no longer knows this upload (aborted or expired)"),
            ("AccessDenied", _) or (null, HttpStatusCode.Forbidden) => (StoreProblem.PermissionDenied,
                $"access denied: access key {login} may not do this in bucket '{bucket}'" + (code is null ? " (or the key or secret is wrong)" : "")),
            ("AuthorizationHeaderMalformed", _) => (StoreProblem.LoginRefused,
                $"the server refused the signature's region ({message}); add ?region=THE-REGION to the URL"),
            _ => (StoreProblem.MountFailed, $"the server answered {(int)status} {code ?? status.ToString()}{(message is null ? "" : $": {message}")}"),
        };
        return new StoreException(problem, prefix + words + (attempts > 1 ? $" (tried {attempts} times)" : ""));
    }

    private static void Backoff(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(500 << (attempt - 1)), cancellationToken).GetAwaiter().GetResult();

    private static IEnumerable<XElement> Children(XElement element, string name) =>
        element.Elements().Where(e => e.Name.LocalName == name);

    private static string? Child(XElement element, string name) => Children(element, name).FirstOrDefault()?.Value;

    private static X509Certificate2Collection LoadCa(string caFile)
    {
        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            return roots.Count > 0 ? roots : throw new StoreException(StoreProblem.Refused, $"the CA file {caFile} holds no PEM certificate");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException && e is not StoreException)
        {
            throw new StoreException(StoreProblem.Refused, $"cannot read the CA file {caFile}: {e.Message}", e);
        }
    }

    /// <summary>True when the server's certificate chains to one of <paramref name="roots"/> and names the host:
    /// a lab's own CA is trusted for that server only through this option, never added to the system's roots.</summary>
    private static bool TrustedBy(X509Certificate2Collection roots, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    public void Dispose() => _http.Dispose();
}
