using System.Diagnostics;
using LiveImager.Engine.Tests.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>serve on an image in an ssh:// store: the server mounts the store itself and serves the disk as a restore writes it.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class OpeningStoreTests(SshServerFixture server) : IClassFixture<SshServerFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void ServeReadsAnImageInAnSshStore()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        ExternalTool.Require("nbdcopy", "libnbd-bin");
        string disk = _scratch.SparseFile("ext4.img", 32L << 20);
        ExternalTool.Run("mkfs.ext4", "-q", disk);
        string remote = server.NewDirectory();
        // Captured through the store, as a technician would: the image belongs to the store's user (mode 0600).
        var capture = new ProcessStartInfo(binary, ["capture", disk, server.Url(remote + "/pc.lim")]) { RedirectStandardError = true };
        capture.Environment["LIVEIMAGER_PASSWORD"] = server.Password;
        capture.Environment["LIVEIMAGER_LOG_DIR"] = _scratch.File("log");
        using (Process captured = Process.Start(capture)!)
        {
            string errors = captured.StandardError.ReadToEnd();
            captured.WaitForExit();
            Assert.True(captured.ExitCode == 0, errors);
        }
        string restored = _scratch.SparseFile("restored.img", 32L << 20);
        ExternalTool.Run(binary, "restore", Path.Combine(remote, "pc.lim"), restored, "--yes");
        string socket = _scratch.File("nbd.sock");
        var start = new ProcessStartInfo(binary, ["serve", server.Url(remote + "/pc.lim"), "--socket", socket])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["LIVEIMAGER_PASSWORD"] = server.Password;
        start.Environment["LIVEIMAGER_LOG_DIR"] = _scratch.File("log");
        using Process serve = Process.Start(start)!;
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(socket) && !serve.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(50);
            }
            Assert.True(File.Exists(socket), serve.HasExited ? serve.StandardError.ReadToEnd() : "serve did not start within 60 s");
            string copy = _scratch.File("copy.img");

            ExternalTool.Run("nbdcopy", $"nbd+unix:///?socket={socket}", copy);

            Assert.True(File.ReadAllBytes(copy).AsSpan().SequenceEqual(File.ReadAllBytes(restored)), "the served disk differs from a restore of the image");
            Assert.Contains("/run/liveimager/mnt/ssh-", File.ReadAllText("/proc/self/mounts"));
        }
        finally
        {
            // SIGTERM: serve unmounts its store on the way out, which a SIGKILL would leave mounted.
            if (!serve.HasExited)
            {
                ExternalTool.RunUnchecked("kill", null, "-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (!serve.WaitForExit(TimeSpan.FromSeconds(30)))
                {
                    serve.Kill();
                    serve.WaitForExit();
                }
            }
        }
        Assert.True(serve.ExitCode == 0, $"serve exited {serve.ExitCode} on SIGTERM");
        Assert.DoesNotContain(remote, File.ReadAllText("/proc/self/mounts"));
    }
}
