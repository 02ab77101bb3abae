using System.Diagnostics;
using System.Xml.Linq;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>A second real S3 server, moto's (the Python package <c>moto</c>, which the build machines' Python has;
/// <c>python3 -m moto.server</c>), for what s3rver lacks: AbortMultipartUpload and ListMultipartUploads. It checks no
/// signature, so the login tests stay with <see cref="S3ServerFixture"/>; here it shows what is left in the bucket.</summary>
public sealed class MotoServerFixture : IDisposable
{
    public const string Bucket = "images";

    private readonly Process? _server;

    public MotoServerFixture()
    {
        if (!ExternalTool.Exists("python3") || ExternalTool.RunUnchecked("python3", null, "-c", "import moto.server").ExitCode != 0)
        {
            SkipReason = "needs python3 with moto (moto's S3 server implements AbortMultipartUpload, which s3rver does not)";
            return;
        }
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _server = Process.Start(info)!;
        _ = _server.StandardOutput.ReadToEndAsync();
        _ = _server.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using HttpResponseMessage created = Http.Send(new HttpRequestMessage(HttpMethod.Put, $"{Endpoint}/{Bucket}"));
                created.EnsureSuccessStatusCode();
                break;
            }
            catch (HttpRequestException) when (clock.Elapsed < TimeSpan.FromSeconds(60) && !_server.HasExited)
            {
                Thread.Sleep(200);
            }
        }
    }

    public string? SkipReason { get; }

    public int Port { get; }

    public HttpClient Http { get; } = new();

    private string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>The s3:// URL of <paramref name="path"/> in the bucket.</summary>
    public string Url(string path) => $"s3://moto-key@127.0.0.1:{Port}/{Bucket}/{path}?tls=0";

    /// <summary>The keys of the bucket's objects under <paramref name="prefix"/>, asked with a plain ListObjectsV2.</summary>
    public IReadOnlyList<string> Objects(string prefix) =>
        Elements($"{Bucket}?list-type=2&prefix={Uri.EscapeDataString(prefix)}", "Contents", "Key");

    /// <summary>The keys of the bucket's multipart uploads not completed nor aborted (ListMultipartUploads).</summary>
    public IReadOnlyList<string> Uploads(string prefix) =>
        Elements($"{Bucket}?uploads&prefix={Uri.EscapeDataString(prefix)}", "Upload", "Key");

    /// <summary>The part numbers the server holds for the uploads of <paramref name="key"/> (ListParts).</summary>
    public int PartsOf(string key) =>
        Elements($"{Bucket}?uploads&prefix={Uri.EscapeDataString(key)}", "Upload", "UploadId")
            .Sum(id => Elements($"{Bucket}/{key}?uploadId={Uri.EscapeDataString(id)}", "Part", "PartNumber").Count);

    private List<string> Elements(string pathAndQuery, string element, string child)
    {
        string text = Http.GetStringAsync($"{Endpoint}/{pathAndQuery}").GetAwaiter().GetResult();
        return XDocument.Parse(text).Descendants().Where(e => e.Name.LocalName == element)
            .Select(e => e.Elements().First(c => c.Name.LocalName == child).Value).ToList();
    }

    public void Dispose()
    {
        Http.Dispose();
        if (_server is { } server)
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
            server.WaitForExit();
            server.Dispose();
        }
    }
}

/// <summary>Ctrl-C during an upload aborts the multipart upload on a server that implements the abort: nothing is
/// left, neither an object nor an upload whose parts would keep costing money.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class S3AbortTests(MotoServerFixture server) : IClassFixture<MotoServerFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void CtrlCAbortsTheMultipartUploadAndLeavesNothing()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string disk = _scratch.File("random.img");
        using (FileStream file = File.Create(disk))
        {
            var block = new byte[1 << 20];
            for (int i = 0; i < 320; i++)
            {
                Random.Shared.NextBytes(block);
                file.Write(block);
            }
        }
        var info = new ProcessStartInfo(binary, ["capture", disk, server.Url("abort/pc.lim")]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["LIVEIMAGER_PASSWORD"] = "moto-secret";
        info.Environment["LIVEIMAGER_LOG_DIR"] = _scratch.File("log");
        using Process capture = Process.Start(info)!;
        Task<string> output = capture.StandardOutput.ReadToEndAsync();
        Task<string> errors = capture.StandardError.ReadToEndAsync();
        int partsSeen;
        try
        {
            var clock = Stopwatch.StartNew();
            while ((partsSeen = server.PartsOf("abort/pc.lim")) == 0)
            {
                if (capture.HasExited)
                {
                    Assert.Fail("the capture ended before any part was uploaded: " + errors.Result);
                }
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), "no part was uploaded within 120 s");
                Thread.Sleep(50);
            }
            ExternalTool.Run("kill", "-INT", capture.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(capture.WaitForExit(TimeSpan.FromMinutes(2)), "the capture did not stop within 2 minutes of SIGINT");
        }
        finally
        {
            if (!capture.HasExited)
            {
                capture.Kill();
            }
        }
        string text = output.Result + errors.Result;
        string log = string.Join("\n", Directory.EnumerateFiles(_scratch.File("log"), "*", SearchOption.AllDirectories).Select(File.ReadAllText));

        Assert.True(capture.ExitCode == 130, $"exit {capture.ExitCode}: {text}");
        Assert.True(partsSeen > 0);
        Assert.Contains("cancelled; no image was kept", text);
        Assert.Empty(server.Objects("abort/"));
        Assert.Empty(server.Uploads("abort/"));
        Assert.Contains("aborted; no object was created", log);
    }
}
