using System.Text.Json;
using LiveImager.Engine.Tests.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>The conf file's password logs the job in to an ssh:// store, exactly as $LIVEIMAGER_PASSWORD would, and
/// the results go to that store too; the password appears nowhere it is written.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class UnattendedSshTests(SshServerFixture server) : IClassFixture<SshServerFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void TheConfPasswordLogsTheJobAndItsResultsInToAnSshStore()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string disk = _scratch.SparseFile("ext4.img", 32L << 20);
        ExternalTool.Run("mkfs.ext4", "-q", disk);
        string remote = server.NewDirectory();
        string cmdline = _scratch.File("cmdline");
        File.WriteAllText(cmdline, $"boot=live liveimager.run=\"capture {disk} {server.Url(remote + "/pc.lim")}\"\n");
        string conf = _scratch.File("liveimager.conf");
        File.WriteAllText(conf, $"after = shell\npassword = {server.Password}\n");
        string logDirectory = _scratch.File("log");

        var start = new System.Diagnostics.ProcessStartInfo(binary, ["unattended", "--cmdline", cmdline, "--conf", conf, "--state-dir", _scratch.File("state"), "--no-power"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["LIVEIMAGER_LOG_DIR"] = logDirectory;
        start.Environment.Remove("LIVEIMAGER_PASSWORD");
        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();

        Assert.True(process.ExitCode == 0, output);
        Assert.True(File.Exists(Path.Combine(remote, "pc.lim")));
        string json = File.ReadAllText(Assert.Single(Directory.GetFiles(Path.Combine(remote, "liveimager-results"), "*-capture.json")));
        using JsonDocument result = JsonDocument.Parse(json);
        Assert.True(result.RootElement.GetProperty("ok").GetBoolean());
        string logCopy = File.ReadAllText(Path.Combine(remote, "liveimager-results", result.RootElement.GetProperty("log").GetString()!));
        Assert.Contains("Mounted ssh://", logCopy);
        Assert.DoesNotContain(server.Password, json + logCopy + output);
    }
}
