using System.Diagnostics;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.SystemTests;

/// <summary>One test disk (make-test-disk.sh, 128 MiB, about 9 MB of image in two 8 MiB volumes) captured once for the
/// multicast tests.</summary>
public sealed class MulticastImageFixture : IDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private string? _image;

    public string Disk => _scratch.File("disk.img");

    public string Manifest => Disk + ".manifest";

    /// <summary>The captured image, made on first use by <paramref name="binary"/>.</summary>
    public string Image(string binary)
    {
        if (_image is null)
        {
            ExternalTool.Run("env", "TEST_DISK_EXT4_FILL=25", "TEST_DISK_NTFS_FILL=25", "bash",
                RepositoryScripts.Path("make-test-disk.sh"), Disk, "128M");
            string image = _scratch.File("disk.lim");
            ExternalTool.Run(binary, "capture", Disk, image, "--split", "8M");
            _image = image;
        }
        return _image;
    }

    public string Scratch(string name) => _scratch.File(name);

    public void Dispose() => _scratch.Dispose();
}

/// <summary><c>liveimager multicast</c> and <c>restore multicast://</c> on a LAN of network namespaces: a sender and
/// three receivers on one bridge, each receiver restoring onto its own loop device, judged by check-test-disk.sh; then
/// a receiver switched off mid-stream, a receiver that comes after the start, and a stream cut by the sender's death.
/// Every process runs under a timeout, and the namespaces are deleted with everything in them even on failure.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class MulticastTests(MulticastImageFixture fixture, ITestOutputHelper log) : IClassFixture<MulticastImageFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    private static void Require()
    {
        NetworkNamespaces.Require();
        LoopDevice.RequireRoot();
        ExternalTool.Require("udp-sender", "udpcast");
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mcopy", "mtools");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) to fill the test disk's NTFS partition through ntfs-3g");
    }

    [SkippableFact]
    public void ThreeReceiversRestoreOneStreamAndEveryDiskChecksOut()
    {
        Require();
        string binary = PublishedBinary.Require();
        string image = fixture.Image(binary);
        using var lan = NetworkNamespaces.Create("s", "r1", "r2", "r3");
        using var disks = new TargetDisks(fixture, 3);

        var clock = Stopwatch.StartNew();
        RunningProgram[] receivers = [.. Enumerable.Range(0, 3).Select(i =>
            lan.Start($"r{i + 1}", binary, "restore", "multicast://eth0", disks[i].Path, "--yes"))];
        RunningProgram sender = lan.Start("s", binary, "multicast", image, "--interface", "eth0", "--min-receivers", "3", "--max-wait", "60");
        int senderExit = sender.Wait(s_timeout);
        int[] receiverExits = [.. receivers.Select(r => r.Wait(s_timeout))];
        TimeSpan elapsed = clock.Elapsed;
        log.WriteLine(sender.Error);
        log.WriteLine($"three receivers in {elapsed.TotalSeconds:F1} s");

        Assert.True(senderExit == 0, sender.Error);
        Assert.Equal(3, CountOf(sender.Error, "joined from"));
        Assert.Equal(3, CountOf(sender.Error, ": received everything"));
        Assert.Contains("sent to 3 of 3 receivers", sender.Error);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(receiverExits[i] == 0, receivers[i].Error);
            ToolResult check = disks.Check(i);
            Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
            Assert.Contains("all checks passed", check.StandardOutput);
        }
    }

    [SkippableFact]
    public void ReceiverSwitchedOffMidStreamIsDroppedWhileTheOthersFinish()
    {
        Require();
        string binary = PublishedBinary.Require();
        string image = fixture.Image(binary);
        using var lan = NetworkNamespaces.Create("s", "r1", "r2", "r3");
        using var disks = new TargetDisks(fixture, 3);

        RunningProgram[] receivers = [.. Enumerable.Range(0, 3).Select(i =>
            lan.Start($"r{i + 1}", binary, "restore", "multicast://eth0", disks[i].Path, "--yes"))];
        // 8 Mbit/s makes the transfer of about 9 MB last several seconds, long enough to switch a receiver off in the middle.
        RunningProgram sender = lan.Start("s", binary, "multicast", image, "--interface", "eth0", "--min-receivers", "3",
            "--max-bitrate", "8m", "--retries-until-drop", "10");
        sender.WaitForError("transfer started", s_timeout);
        Thread.Sleep(1500);
        lan.KillAll("r3");
        int senderExit = sender.Wait(s_timeout);
        log.WriteLine(sender.Error);

        Assert.Equal(1, senderExit);
        Assert.Contains("receiver #", sender.Error);
        Assert.Contains("DROPPED (stopped answering)", sender.Error);
        Assert.Equal(2, CountOf(sender.Error, ": received everything"));
        Assert.Contains("sent to 2 of 3 receivers", sender.Error);
        for (int i = 0; i < 2; i++)
        {
            Assert.True(receivers[i].Wait(s_timeout) == 0, receivers[i].Error);
            ToolResult check = disks.Check(i);
            Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        }
    }

    [SkippableFact]
    public void ReceiverThatComesAfterTheStartFailsClearlyAndWritesNothing()
    {
        Require();
        string binary = PublishedBinary.Require();
        string image = fixture.Image(binary);
        using var lan = NetworkNamespaces.Create("s", "r1", "r2");
        using var disks = new TargetDisks(fixture, 2);
        ExternalTool.Run("dd", "if=/dev/urandom", $"of={disks[1].Path}", "bs=64K", "count=1", "conv=notrunc,fsync", "status=none");
        byte[] before = Head(disks[1].Path);

        RunningProgram early = lan.Start("r1", binary, "restore", "multicast://eth0", disks[0].Path, "--yes");
        RunningProgram sender = lan.Start("s", binary, "multicast", image, "--interface", "eth0", "--min-receivers", "1",
            "--max-bitrate", "40m");
        sender.WaitForError("transfer started", s_timeout);
        RunningProgram late = lan.Start("r2", binary, "restore", "multicast://eth0?start-timeout=5", disks[1].Path, "--yes");
        int lateExit = late.Wait(s_timeout);
        log.WriteLine(late.Error);

        Assert.Equal(1, lateExit);
        Assert.Contains("never connected to a sender on multicast://eth0", late.Error);
        Assert.Contains("admits no late receiver", late.Error);
        Assert.Contains($"nothing was written to {disks[1].Path}", late.Error);
        Assert.Equal(before, Head(disks[1].Path));
        Assert.Equal(0, sender.Wait(s_timeout));
        Assert.Equal(0, early.Wait(s_timeout));
        Assert.Equal(1, CountOf(sender.Error, "joined from"));
    }

    [SkippableFact]
    public void StreamCutBySendersDeathNamesTheFrameAndTheDisksState()
    {
        Require();
        string binary = PublishedBinary.Require();
        string image = fixture.Image(binary);
        using var lan = NetworkNamespaces.Create("s", "r1");
        using var disks = new TargetDisks(fixture, 1);

        RunningProgram receiver = lan.Start("r1", binary, "restore", "multicast://eth0?receive-timeout=3", disks[0].Path, "--yes");
        RunningProgram sender = lan.Start("s", binary, "multicast", image, "--interface", "eth0", "--min-receivers", "1",
            "--max-bitrate", "8m");
        sender.WaitForError("transfer started", s_timeout);
        Thread.Sleep(2000);
        lan.KillAll("s");
        int exit = receiver.Wait(s_timeout);
        log.WriteLine(receiver.Error);

        Assert.Equal(4, exit);
        Assert.Matches(@"frame \d+", receiver.Error);
        Assert.Contains("image offset", receiver.Error);
        Assert.Contains("partly written and does not hold a usable disk", receiver.Error);
        Assert.Contains("stopped without completing the transfer", receiver.Error);
    }

    /// <summary>A sender nobody joins ends after its join timeout with a message saying so, exit code 1, and no
    /// udp-sender left running, instead of waiting forever.</summary>
    [SkippableFact]
    public void SenderThatNobodyJoinsGivesUpAfterItsJoinTimeout()
    {
        Require();
        string binary = PublishedBinary.Require();
        string image = fixture.Image(binary);
        using var lan = NetworkNamespaces.Create("s", "r1");

        RunningProgram sender = lan.Start("s", binary, "multicast", image, "--interface", "eth0", "--min-receivers", "2", "--max-wait", "60",
            "--join-timeout", "3");
        int exit = sender.Wait(s_timeout);
        log.WriteLine(sender.Error);

        Assert.Equal(1, exit);
        Assert.Contains("with no receiver after 3 s it gives up", sender.Error);
        Assert.Contains("no receiver joined on multicast://eth0 within 3 s; nothing was sent", sender.Error);
        Assert.Contains("liveimager restore multicast://eth0 TARGET --yes", sender.Error);
        Assert.DoesNotContain("transfer started", sender.Error);
        Assert.Equal(string.Empty, ExternalTool.RunUnchecked("ip", null, "netns", "pids", lan.Name("s")).StandardOutput.Trim());
    }

    /// <summary>A receiver that joins before the join timeout keeps the session open past it: the timeout is for the
    /// first receiver only, and --max-wait then decides the start.</summary>
    [SkippableFact]
    public void JoinTimeoutEndsOnlyASessionNobodyJoined()
    {
        Require();
        string binary = PublishedBinary.Require();
        string image = fixture.Image(binary);
        using var lan = NetworkNamespaces.Create("s", "r1");
        using var disks = new TargetDisks(fixture, 1);

        RunningProgram sender = lan.Start("s", binary, "multicast", image, "--interface", "eth0", "--min-receivers", "2", "--max-wait", "6",
            "--join-timeout", "4");
        RunningProgram receiver = lan.Start("r1", binary, "restore", "multicast://eth0", disks[0].Path, "--yes");
        int senderExit = sender.Wait(s_timeout);
        int receiverExit = receiver.Wait(s_timeout);
        log.WriteLine(sender.Error);

        Assert.True(senderExit == 0, sender.Error);
        Assert.Contains("sent to 1 of 1 receivers", sender.Error);
        Assert.True(receiverExit == 0, receiver.Error);
        Assert.Equal(0, disks.Check(0).ExitCode);
    }

    /// <summary>A PXE-booted lab machine's job: <c>liveimager.run="restore multicast://eth0 DISK --yes"</c> runs
    /// unattended, and its result (no store to put it on) is the results JSON in the log directory.</summary>
    [SkippableFact]
    public void UnattendedReceiverWritesItsResultToTheLogDirectory()
    {
        Require();
        string binary = PublishedBinary.Require();
        string image = fixture.Image(binary);
        using var lan = NetworkNamespaces.Create("s", "r1");
        using var disks = new TargetDisks(fixture, 1);
        string logs = fixture.Scratch($"logs-{Guid.NewGuid():N}");
        string cmdline = fixture.Scratch($"cmdline-{Guid.NewGuid():N}");
        File.WriteAllText(cmdline, $"boot=live liveimager.run=\"restore multicast://eth0 {disks[0].Path} --yes\" liveimager.after=poweroff\n");

        RunningProgram receiver = lan.Start("r1", "env", $"LIVEIMAGER_LOG_DIR={logs}", binary, "unattended", "--cmdline", cmdline,
            "--conf", fixture.Scratch("absent.conf"), "--state-dir", fixture.Scratch($"state-{Guid.NewGuid():N}"), "--no-power");
        RunningProgram sender = lan.Start("s", binary, "multicast", image, "--interface", "eth0", "--min-receivers", "1");
        Assert.True(sender.Wait(s_timeout) == 0, sender.Error);
        int exit = receiver.Wait(s_timeout);

        Assert.True(exit == 0, receiver.Output + receiver.Error);
        using var result = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Assert.Single(Directory.GetFiles(logs, "*-restore.json"))));
        Assert.True(result.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal("multicast://eth0", result.RootElement.GetProperty("image").GetString());
        Assert.True(result.RootElement.GetProperty("bytesWritten").GetInt64() > 10L << 20);
        Assert.Equal(0, disks.Check(0).ExitCode);
    }

    private static int CountOf(string text, string part) => text.Split(part).Length - 1;

    private static byte[] Head(string device)
    {
        using var stream = new FileStream(device, FileMode.Open, FileAccess.Read);
        var head = new byte[64 * 1024];
        stream.ReadExactly(head);
        return head;
    }

    /// <summary>Blank sparse files the size of the test disk on loop devices; detached and deleted on Dispose.</summary>
    private sealed class TargetDisks : IDisposable
    {
        private readonly List<LoopDevice> _loops = [];
        private readonly MulticastImageFixture _fixture;

        public TargetDisks(MulticastImageFixture fixture, int count)
        {
            _fixture = fixture;
            long size = new FileInfo(fixture.Disk).Length;
            try
            {
                for (int i = 0; i < count; i++)
                {
                    string file = fixture.Scratch($"target-{Guid.NewGuid():N}.img");
                    using (var stream = new FileStream(file, FileMode.CreateNew))
                    {
                        stream.SetLength(size);
                    }
                    _loops.Add(LoopDevice.Attach(file));
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public LoopDevice this[int index] => _loops[index];

        public ToolResult Check(int index) => ExternalTool.RunUnchecked("bash", null,
            RepositoryScripts.Path("check-test-disk.sh"), _loops[index].Path, _fixture.Manifest);

        public void Dispose()
        {
            foreach (LoopDevice loop in _loops)
            {
                loop.Dispose();
                File.Delete(loop.BackingFile);
            }
        }
    }
}
