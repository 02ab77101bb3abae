using System.Diagnostics;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>A real S3-compatible server on 127.0.0.1 on a free port: npm's @20minutes/s3rver (multipart upload,
/// ranged GET, ListObjectsV2, and every request's SigV4 signature checked against the secret), installed by
/// scripts/install-s3-server.sh. One bucket, <see cref="Bucket"/>; a random access key and secret given to it
/// through its environment. It can be stopped and started again on the same port, with the same objects.</summary>
public sealed class S3ServerFixture : IDisposable
{
    public const string Bucket = "images";
    public const string DirectoryVariable = "LIVEIMAGER_S3RVER_DIR";

    private readonly ScratchDirectory _scratch = new();
    private readonly string? _serveScript;
    private Process? _server;

    public S3ServerFixture()
    {
        string installed = Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } dir ? dir : "/opt/liveimager-test/s3-server";
        _serveScript = Path.Combine(installed, "serve.js");
        if (!ExternalTool.Exists("node"))
        {
            SkipReason = "needs node to run the S3 test server (scripts/install-s3-server.sh)";
            return;
        }
        if (!File.Exists(_serveScript) || !Directory.Exists(Path.Combine(installed, "node_modules", "@20minutes", "s3rver")))
        {
            SkipReason = $"the S3 test server is not installed in {installed}: run scripts/install-s3-server.sh (`make test` does)";
            return;
        }
        AccessKey = "lab-" + Guid.NewGuid().ToString("N")[..8];
        Secret = "s3secret-" + Guid.NewGuid().ToString("N");
        DataDirectory = _scratch.File("objects");
        Directory.CreateDirectory(DataDirectory);
        Port = FreePortBelowEphemeral();
        Start();
    }

    /// <summary>Why the S3 tests cannot run here, or null.</summary>
    public string? SkipReason { get; }

    public string AccessKey { get; } = "";

    /// <summary>The secret: given to the tool only through a file or the environment.</summary>
    public string Secret { get; } = "";

    public int Port { get; private set; }

    /// <summary>The server's own directory of buckets and objects.</summary>
    public string DataDirectory { get; } = "";

    /// <summary>The s3:// URL of <paramref name="path"/> in the bucket (plain HTTP: the server has no certificate).</summary>
    public string Url(string path, string? bucket = null) => $"s3://{AccessKey}@127.0.0.1:{Port}/{bucket ?? Bucket}/{path.TrimStart('/')}?tls=0";

    /// <summary>Starts the server on <see cref="Port"/> (again, after <see cref="Stop"/>) and waits until it listens.</summary>
    /// <param name="tls">A PEM key and certificate to serve HTTPS with; null for plain HTTP.</param>
    public void Start((string Key, string Certificate)? tls = null)
    {
        Stop();
        string[] arguments = [_serveScript!, "127.0.0.1", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), DataDirectory, Bucket,
            .. tls is { } files ? [files.Key, files.Certificate] : Array.Empty<string>()];
        var info = new ProcessStartInfo("node", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["S3_TEST_ACCESS_KEY"] = AccessKey;
        info.Environment["S3_TEST_SECRET"] = Secret;
        _server = Process.Start(info)!;
        string? line = _server.StandardOutput.ReadLine();
        if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
        {
            string errors = _server.StandardError.ReadToEnd();
            Stop();
            throw new InvalidOperationException($"the S3 test server did not start: {line} {errors}");
        }
        Port = int.Parse(line["listening ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Stops the server at once (SIGKILL), as a server that dies or a cable that is pulled.</summary>
    public void Stop()
    {
        if (_server is { } server)
        {
            _server = null;
            if (!server.HasExited)
            {
                server.Kill();
            }
            server.WaitForExit();
            server.Dispose();
        }
    }

    /// <summary>A free port below Linux's ephemeral range (32768 and up): a client that keeps connecting to a stopped
    /// server's port in that range can be given it as its own source port (a TCP self-connect), and then the server
    /// cannot listen there again.</summary>
    private static int FreePortBelowEphemeral()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int port = Random.Shared.Next(20_000, 32_000);
            try
            {
                var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Taken: try another.
            }
        }
        throw new InvalidOperationException("no free port from 20000 to 32000");
    }

    /// <summary>The objects under <paramref name="prefix"/> in the bucket as the server stores them (its files named
    /// KEY._S3rver_object), so a test sees what exists without going through the tool under test.</summary>
    public IReadOnlyList<string> Objects(string prefix)
    {
        string directory = Path.Combine(DataDirectory, Bucket, prefix);
        return Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory).Select(Path.GetFileName).Where(n => n!.EndsWith("._S3rver_object", StringComparison.Ordinal))
                .Select(n => n![..^"._S3rver_object".Length]).Order(StringComparer.Ordinal).ToList()
            : [];
    }

    public void Dispose()
    {
        Stop();
        _scratch.Dispose();
    }
}
