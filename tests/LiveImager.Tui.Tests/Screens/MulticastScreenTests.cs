using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class MulticastScreenTests
{
    /// <summary>M, 1: the image, the interface and when to start; odd choices are refused on the form, then the
    /// session screen shows each machine that joined, the transfer with rate and time left, a dropped machine, and
    /// the result with one line per machine.</summary>
    [Fact]
    public void SendingShowsTheMachinesThatJoinedThenTheTransferAndEachMachinesEnd()
    {
        using var store = new ScratchDirectory();
        File.WriteAllBytes(store.File("lab.lim"), [1]);
        var jobs = new ScriptedJobs();
        using var tui = new TuiHarness(new TuiServices { Jobs = jobs });
        tui.Services.Session.StorePath = store.Path;
        tui.AssertShows("M  Multicast: send one image to many machines, or receive it");
        tui.Press((Key)'m');
        tui.AssertShows("1  Send an image from here to the machines that join");
        tui.Press((Key)'1');
        Assert.IsType<MulticastSendScreen>(tui.Host.Top);
        tui.AssertShows(store.Path + "/");

        tui.Press(Key.End);
        tui.Type("nothere.lim");
        tui.Press(Key.Enter);
        tui.AssertShows("is not a file here.");
        for (int i = 0; i < "nothere.lim".Length; i++)
        {
            tui.Press(Key.Backspace);
        }
        tui.Type("lab.lim");
        tui.Press(Key.Tab);
        tui.Type("-eth0");
        tui.Press(Key.Enter);
        tui.AssertShows("The interface: '-eth0' is not a network interface name");
        for (int i = 0; i < 5; i++)
        {
            tui.Press(Key.Backspace);
        }
        tui.Type("eth0");
        tui.Press(Key.Tab);
        tui.Type("x");
        tui.Press(Key.Enter);
        tui.AssertShows("The number of machines must be a whole number, not 'x'.");
        tui.Press(Key.Backspace);
        tui.Type("3");
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the session to start");
        var request = Assert.IsType<MulticastSendRequest>(jobs.Request);
        Assert.Equal(Path.Combine(store.Path, "lab.lim"), request.ImagePath);
        Assert.Equal("eth0", request.Interface);
        Assert.Equal(3, request.MinReceivers);
        Assert.Equal(TimeSpan.FromSeconds(120), request.MaxWait);
        tui.AssertShows("lab.lim on multicast://eth0");
        tui.AssertShows("Starts when 3 machines have joined, or 120 s after the first.");
        tui.AssertShows("no machine has joined yet.");
        tui.AssertShows("liveimager restore multicast://eth0 DISK --yes");

        jobs.Sending.Report(new MulticastProgress([new MulticastPeer(0, "10.0.0.11", false), new MulticastPeer(1, "10.0.0.12", false)],
            false, 0, 1_000_000_000, 0, null));
        tui.WaitForText("Waiting for machines: 2 joined.");
        tui.AssertShows("#0    10.0.0.11        joined");
        tui.AssertShows("#1    10.0.0.12        joined");

        jobs.Sending.Report(new MulticastProgress([new MulticastPeer(0, "10.0.0.11", false), new MulticastPeer(1, "10.0.0.12", true),
            new MulticastPeer(2, "10.0.0.13", false)], true, 500_000_000, 1_000_000_000, 50_000_000, TimeSpan.FromSeconds(10)));
        tui.WaitForText("(50%)");
        tui.AssertShows("Sending to 2 machines.");
        tui.AssertShows("500.0 MB of 1.0 GB (50%)   Rate 50.0 MB/s   Remaining 00:10");
        tui.AssertShows("#1    10.0.0.12        DROPPED (stopped answering)");
        tui.Press(Key.F1);
        tui.AssertShows("A machine that stops answering is dropped");
        tui.Press(Key.Esc);

        jobs.End(new JobOutcome(false, ["Receiver #0 10.0.0.11: received everything.", "Receiver #1 10.0.0.12: DROPPED (stopped answering)."],
            "1 of 3 receivers did not receive the whole image.", null) { PartlyDone = "not every machine received it" });
        tui.WaitForText("The multicast session ended in");
        tui.AssertShows("not every machine received it");
        tui.AssertShows("Receiver #1 10.0.0.12: DROPPED (stopped answering).");
    }

    [Fact]
    public void SendingNeedsAStartConditionAndEscStopsTheSessionOnlyAfterYes()
    {
        using var store = new ScratchDirectory();
        File.WriteAllBytes(store.File("lab.lim"), [1]);
        var jobs = new ScriptedJobs();
        using var tui = new TuiHarness(new TuiServices { Jobs = jobs });
        tui.Services.Session.StorePath = store.Path;
        tui.Press((Key)'m');
        tui.Press((Key)'1');
        tui.Press(Key.End);
        tui.Type("lab.lim");
        tui.Press(Key.Tab);
        tui.Press(Key.Tab);
        tui.Press(Key.Tab);
        for (int i = 0; i < 3; i++)
        {
            tui.Press(Key.Backspace);
        }
        tui.Press(Key.Enter);
        tui.AssertShows("Say when to start: a number of machines, seconds after the first, or both.");
        Assert.Null(jobs.Request);
        // The focus went to the number of machines.
        tui.Type("30");
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the session to start");
        var request = (MulticastSendRequest)jobs.Request!;
        Assert.Null(request.Interface);
        Assert.Equal(30, request.MinReceivers);
        Assert.Null(request.MaxWait);
        tui.AssertShows("lab.lim on multicast://");
        tui.AssertShows("Starts when 30 machines have joined.");

        tui.Press(Key.Esc);
        tui.AssertShows("Stop the multicast session?");
        tui.Press(Key.N);
        Assert.False(jobs.Token.IsCancellationRequested);
        tui.Press(Key.Esc);
        tui.Press(Key.Y);
        Assert.True(jobs.Token.IsCancellationRequested);
        tui.WaitForText("The multicast session was stopped at your request.");
    }

    /// <summary>M, 2: the interface, a disk (one in use or the stick itself refused), the typed name, then the restore
    /// of the session's stream on the progress screen.</summary>
    [Fact]
    public void ReceivingAsksTheInterfaceAndTheDiskAndRestoresOnlyAfterTheTypedName()
    {
        var jobs = new ScriptedJobs();
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Jobs = jobs });
        tui.Press((Key)'m');
        tui.Press((Key)'2');
        tui.AssertShows("Step 1 of 3: the network the sender is on");
        tui.Type("eth0:x");
        tui.Press(Key.Enter);
        tui.AssertShows("is not");
        tui.Press(Key.Backspace);
        tui.Press(Key.Backspace);
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 3: the disk to overwrite");
        tui.WaitForText("Crucial MX500");
        tui.Press(Key.Enter);
        tui.AssertShows("sda cannot be chosen: sda2 is mounted at /.");
        tui.Press(Key.CursorDown);
        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);
        tui.AssertShows("Step 3 of 3: confirm");
        tui.AssertShows("Receive  multicast://eth0");
        tui.AssertShows("EVERYTHING ON sdc WILL BE ERASED (1 partition now).");
        tui.Type("sdd");
        tui.Press(Key.Enter);
        tui.AssertShows("'sdd' is not sdc; nothing was written.");
        Assert.Null(jobs.Request);
        tui.Press(Key.Backspace);
        tui.Type("c");
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the restore to start");
        var request = Assert.IsType<MulticastReceiveRequest>(jobs.Request);
        Assert.Equal("multicast://eth0", request.Address);
        Assert.Equal("/dev/sdc", request.Target.Path);
        tui.AssertShows("Receiving multicast://eth0 onto sdc (waiting for the sender to start)");

        jobs.Progress.Report(new JobProgress(6_000_000_000, 12_000_000_000, 100_000_000, TimeSpan.FromSeconds(60), "2"));
        tui.WaitForText("(50%)");
        jobs.End(new JobOutcome(true, ["/dev/sdc: restored 12000000000 bytes."], null, null));
        tui.WaitForText("The restore finished in");
    }
}
