using System.Security.Cryptography;
using System.Text;

namespace LiveImager.Engine.Targets;

/// <summary>AWS Signature Version 4 for S3 requests (the AWS General Reference's "Signature Version 4 signing
/// process"): a canonical request of method, path, sorted query, the signed headers and the payload's SHA-256, hashed
/// into a string to sign, signed with a key derived from the secret for the day, region and service. Temporary
/// credentials send their session token as <c>x-amz-security-token</c>, which is signed too (the S3 API reference,
/// "Signing and authenticating REST requests": the token header is part of the signed headers).</summary>
internal sealed class S3Signer(string accessKey, string secretKey, string region, string? sessionToken = null)
{
    private const string Algorithm = "AWS4-HMAC-SHA256";
    private const string Service = "s3";

    /// <summary>The SHA-256 of an empty payload, which GET, HEAD and DELETE sign.</summary>
    public static readonly string EmptyPayloadHash = Hash([]);

    public string AccessKey => accessKey;

    /// <summary>Adds <c>x-amz-date</c>, <c>x-amz-content-sha256</c> and <c>Authorization</c> to
    /// <paramref name="request"/>, whose URI's path and query are already percent-encoded as S3 wants them
    /// (<see cref="Encode"/>).</summary>
    public void Sign(HttpRequestMessage request, string payloadHash, DateTimeOffset now)
    {
        Uri uri = request.RequestUri!;
        string amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        string day = amzDate[..8];
        string host = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        request.Headers.Host = host;
        request.Headers.Add("x-amz-date", amzDate);
        request.Headers.Add("x-amz-content-sha256", payloadHash);
        if (sessionToken is not null)
        {
            request.Headers.TryAddWithoutValidation("x-amz-security-token", sessionToken);
        }

        // Canonical headers in the order of their lower-case names, as are the signed headers' names.
        string signedHeaders = sessionToken is null
            ? "host;x-amz-content-sha256;x-amz-date"
            : "host;x-amz-content-sha256;x-amz-date;x-amz-security-token";
        string canonicalHeaders = $"host:{host}\nx-amz-content-sha256:{payloadHash}\nx-amz-date:{amzDate}\n" +
            (sessionToken is null ? "" : $"x-amz-security-token:{sessionToken.Trim()}\n");
        string canonical = string.Join('\n',
            request.Method.Method,
            uri.AbsolutePath,
            CanonicalQuery(uri.Query),
            canonicalHeaders,
            signedHeaders,
            payloadHash);
        string scope = $"{day}/{region}/{Service}/aws4_request";
        string toSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Hash(Encoding.UTF8.GetBytes(canonical))}";
        byte[] key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), day);
        key = Hmac(key, region);
        key = Hmac(key, Service);
        key = Hmac(key, "aws4_request");
        string signature = Convert.ToHexStringLower(Hmac(key, toSign));
        request.Headers.TryAddWithoutValidation("Authorization",
            $"{Algorithm} Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
    }

    /// <summary>The lower-case hex SHA-256 of <paramref name="payload"/>.</summary>
    public static string Hash(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));

    /// <summary>Percent-encodes as SigV4 wants: every byte but the unreserved characters A-Z a-z 0-9 - _ . ~
    /// (RFC 3986 2.3), which is what <see cref="Uri.EscapeDataString(string)"/> does.</summary>
    public static string Encode(string value) => Uri.EscapeDataString(value);

    /// <summary>The query's parameters sorted by name, each as name=value (value empty for a bare name), already encoded.</summary>
    private static string CanonicalQuery(string query)
    {
        if (query.Length <= 1)
        {
            return "";
        }
        return string.Join('&', query[1..].Split('&')
            .Select(p => p.Contains('=') ? p : p + "=")
            .OrderBy(p => p[..p.IndexOf('=')], StringComparer.Ordinal)
            .ThenBy(p => p, StringComparer.Ordinal));
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}
