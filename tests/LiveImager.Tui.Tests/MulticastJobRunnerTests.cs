using LiveImager.Engine.Imaging;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using Xunit;

namespace LiveImager.Tui.Tests;

/// <summary>The TUI's multicast seams on the real Engine and real udpcast, over the loopback interface on a port of
/// its own: the sender's progress (a receiver joined, then the transfer), each receiver's line on the result, and the
/// receiving side's restore giving back the source disk byte for byte.</summary>
public class MulticastJobRunnerTests
{
    [SkippableFact]
    public async Task SendingAndReceivingThroughTheSeamsGiveTheSameDisk()
    {
        ExternalTool.Require("udp-sender", "udpcast");
        using var scratch = new ScratchDirectory();
        string source = EngineJobRunnerTests.MakeExt4Disk(scratch);
        string image = scratch.File("source.limg");
        new CaptureJob(new CaptureOptions(source, image)).Run(CancellationToken.None);
        string target = scratch.SparseFile("target.img", new FileInfo(source).Length);
        int port = 20000 + 2 * Random.Shared.Next(0, 5000);
        var runner = new EngineJobRunner(null);
        var sending = new List<MulticastProgress>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        Task<JobOutcome> receive = runner.MulticastReceiveAsync(
            new MulticastReceiveRequest($"multicast://lo:{port}?start-timeout=60", EngineJobRunnerTests.FileDisk("target", target)),
            new Progress<JobProgress>(_ => { }), timeout.Token);
        Task<JobOutcome> send = runner.MulticastSendAsync(new MulticastSendRequest(image, "lo", 1, null, port),
            new LockedProgress<MulticastProgress>(sending), timeout.Token);
        JobOutcome sent = await send;
        JobOutcome received = await receive;

        Assert.True(sent.Succeeded, sent.Error + string.Join("\n", sent.Figures));
        Assert.Contains("Receiver #0 127.0.0.1: received everything.", sent.Figures);
        Assert.Contains(sent.Figures, f => f.Contains("sent to 1 of 1 receivers", StringComparison.Ordinal));
        MulticastProgress[] reports;
        lock (sending)
        {
            reports = [.. sending];
        }
        Assert.Contains(reports, p => !p.Started && p.Receivers.Count == 1 && p.Receivers[0].Address == "127.0.0.1");
        Assert.Contains(reports, p => p.Started && p.BytesSent > 0);
        Assert.All(reports, p => Assert.Equal(new FileInfo(image).Length, p.BytesTotal));
        Assert.True(received.Succeeded, received.Error);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(target));
    }

    /// <summary>A receiver with no sender gives up after its start timeout, writes nothing, and says so.</summary>
    [SkippableFact]
    public async Task AReceiverWithNoSenderGivesUpAndWritesNothing()
    {
        ExternalTool.Require("udp-receiver", "udpcast");
        using var scratch = new ScratchDirectory();
        string target = scratch.SparseFile("target.img", 1 << 20);
        int port = 20000 + 2 * Random.Shared.Next(0, 5000);

        JobOutcome outcome = await new EngineJobRunner(null).MulticastReceiveAsync(
            new MulticastReceiveRequest($"multicast://lo:{port}?start-timeout=2", EngineJobRunnerTests.FileDisk("target", target)),
            new Progress<JobProgress>(_ => { }), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.False(outcome.Succeeded);
        Assert.Contains($"never connected to a sender on multicast://lo:{port}", outcome.Error);
        Assert.Contains($"nothing was written to {target}", outcome.Error);
        Assert.All(File.ReadAllBytes(target), b => Assert.Equal(0, b));
    }

    /// <summary>Keeps every report, as the job's threads send them.</summary>
    private sealed class LockedProgress<T>(List<T> reports) : IProgress<T>
    {
        public void Report(T value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
