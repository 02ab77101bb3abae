using LiveImager.Engine.Imaging;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class DeployScreenTests
{
    [Fact]
    public void TheDiskInUseTheBootStickAndATooSmallDiskCannotBeMarkedAndOnlyTheMarkedOnesAreWritten()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        ImageSummary image = ListedImages.LaptopImage(store.Path);
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Images = new ListedImages(image), Jobs = jobs });
        tui.Services.Session.StorePath = store.Path;
        tui.Press((Key)'4');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5: the image to deploy");
        tui.Press(Key.Enter);
        tui.WaitForText("Kingston A400");

        tui.Press(Key.Enter);
        tui.AssertShows("No disk is marked yet: press Space on each disk to write, then Enter.");
        tui.Press(Key.Space);
        tui.AssertShows("sda cannot be chosen: sda2 is mounted at /.");
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.AssertShows("sdb cannot be chosen: the live system booted from it.");
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.AssertShows("MARKED");
        tui.AssertShows("Enter goes on with the 1 marked.");
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.AssertShows("sdd cannot be chosen: too small.");
        tui.AssertShows("It holds    64.0 GB (64,023,257,088 bytes);");

        // Space twice leaves a disk unmarked.
        tui.Press(Key.CursorUp);
        tui.Press(Key.Space);
        Assert.DoesNotContain("MARKED", tui.Screen, StringComparison.Ordinal);
        tui.Press(Key.Enter);
        tui.AssertShows("No disk is marked yet");
        tui.Press(Key.Space);
        tui.Press(Key.Enter);
        tui.AssertShows("Write 1 disk, each from the same read:");
        tui.AssertShows("sdc      Crucial MX500, serial 2031E2A1B2C3, 256.1 GB, 1 partition now");
        tui.AssertShows("EVERYTHING ON sdc WILL BE ERASED.");

        tui.Press(Key.F1);
        tui.AssertShows("the image is read once");
        tui.Press(Key.Esc);
        Assert.Equal(3, ((DeployScreen)tui.Host.Top).Step);

        tui.Press(Key.Enter);
        tui.Type("sdc sdd");
        tui.Press(Key.Enter);
        tui.AssertShows("'sdc sdd' does not name exactly sdc; nothing was written.");
        Assert.Null(jobs.Request);
        for (int i = 0; i < 4; i++)
        {
            tui.Press(Key.Backspace);
        }
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the deployment to start");
        var request = Assert.IsType<RestoreRequest>(jobs.Request);
        Assert.Equal(["sdc"], request.Targets.Select(t => t.Name));
        Assert.Equal(image.Path, request.Image.Path);

        jobs.Progress.Report(new JobProgress(60_000_000_000, 120_000_000_000, 300_000_000, TimeSpan.FromSeconds(200), "2"));
        tui.WaitForText("(50%)");
        tui.AssertShows("Partition: 2");
        tui.AssertShows("Esc asks whether to cancel the deployment.");
        jobs.End(new JobOutcome(true, ["/dev/sdc: restored 120570000000 bytes."], null, null));
        tui.WaitForText("The deployment finished in");
        tui.AssertShows("/dev/sdc: restored 120570000000 bytes.");
    }

    [Fact]
    public void EachDiskHasItsOwnRowAndAFailedOneShowsItsErrorWhileTheOtherCompletes()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        ImageSummary image = ListedImages.LaptopImage(store.Path);
        DiskChoice secondSpare = ListedDisks.SpareDisk with { Name = "sde", Path = "/dev/sde", Serial = "2031E2A1B2D4" };
        using var tui = new TuiHarness(new TuiServices
        {
            Disks = new ListedDisks(ListedDisks.SpareDisk, secondSpare),
            Images = new ListedImages(image),
            Jobs = jobs,
        });
        tui.Services.Session.StorePath = store.Path;
        tui.Press((Key)'4');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5: the image to deploy");
        tui.Press(Key.Enter);
        tui.WaitForText("Crucial MX500");
        tui.Press(Key.Space);
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.Press(Key.Enter);
        tui.Press(Key.Enter);
        tui.Type("sdc sde");
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the deployment to start");
        Assert.Equal(["sdc", "sde"], ((RestoreRequest)jobs.Request!).Targets.Select(t => t.Name));

        const long total = 120_000_000_000;
        jobs.Progress.Report(new JobProgress(30_000_000_000, total, 300_000_000, TimeSpan.FromSeconds(300), "1",
            [new DiskProgress("sdc", RestoreTargetState.Writing, 30_000_000_000, total, 300_000_000, TimeSpan.FromSeconds(300), null),
             new DiskProgress("sde", RestoreTargetState.Writing, 29_000_000_000, total, 290_000_000, TimeSpan.FromSeconds(310), null)]));
        tui.WaitForText("(25%)");
        tui.AssertShows("Disk     Progress                Written         Rate   Left  State");
        tui.AssertShows("sdc      ####............  25%   30.0 GB   300.0 MB/s  05:00  writing");
        tui.AssertShows("sde      ###.............  24%   29.0 GB   290.0 MB/s  05:10  writing");
        tui.AssertShows("Partition: 1");

        const string error = "pwrite at 48318382080 /dev/sde: Input/output error (errno 5)";
        jobs.Progress.Report(new JobProgress(90_000_000_000, total, 300_000_000, TimeSpan.FromSeconds(100), "2",
            [new DiskProgress("sdc", RestoreTargetState.Writing, 90_000_000_000, total, 300_000_000, TimeSpan.FromSeconds(100), null),
             new DiskProgress("sde", RestoreTargetState.Failed, 48_318_382_080, total, 0, null, error)]));
        tui.WaitForText("(75%)");
        tui.AssertShows("sdc      ############....  75%   90.0 GB   300.0 MB/s  01:40  writing");
        tui.AssertShows("sde      ######..........  40%   48.3 GB            -      -  FAILED");
        tui.AssertShows($"         {error}");
        tui.AssertShows("Esc asks whether to cancel the deployment.");
        tui.Press(Key.F1);
        tui.AssertShows("several disks are written, each has its own row; one that fails is dropped");
        tui.Press(Key.Esc);

        jobs.Progress.Report(new JobProgress(total, total, 300_000_000, TimeSpan.Zero, null,
            [new DiskProgress("sdc", RestoreTargetState.Finishing, total, total, 300_000_000, TimeSpan.Zero, null),
             new DiskProgress("sde", RestoreTargetState.Failed, 48_318_382_080, total, 0, null, error)]));
        tui.WaitForText("flushing");
        tui.AssertShows("sdc      ################ 100%  120.0 GB   300.0 MB/s      -  flushing");

        jobs.Progress.Report(new JobProgress(total, total, 300_000_000, TimeSpan.Zero, null,
            [new DiskProgress("sdc", RestoreTargetState.Done, total, total, 300_000_000, TimeSpan.Zero, null),
             new DiskProgress("sde", RestoreTargetState.Failed, 48_318_382_080, total, 0, null, error)]));
        tui.WaitForText("  done");
        tui.AssertShows("sdc      ################ 100%  120.0 GB   300.0 MB/s      -  done");
        tui.AssertShows("sde      ######..........  40%   48.3 GB            -      -  FAILED");
        Assert.DoesNotContain("Partition:", tui.Screen, StringComparison.Ordinal);

        jobs.End(new JobOutcome(false,
            ["/dev/sdc: restored 120000000000 bytes.", $"/dev/sde: failed after 48318382080 bytes: {error}; /dev/sde is partly written and does not hold a usable disk."],
            "1 of 2 disks failed; the others are restored.", "/var/log/liveimager/session.log"));
        tui.WaitForText("not on every disk");
        tui.AssertShows("/dev/sdc: restored 120000000000 bytes.");
        tui.AssertShows("/dev/sde: failed after 48318382080 bytes: pwrite at 48318382080");
        tui.AssertShows("1 of 2 disks failed; the others are restored.");
        tui.AssertShows("The log is in /var/log/liveimager/session.log");
    }

    [Theory]
    [InlineData("sdc sde", true)]
    [InlineData("sde  sdc", true)]
    [InlineData("sdc", false)]
    [InlineData("sdc sdc", false)]
    [InlineData("sdc sde sdf", false)]
    [InlineData("2", false)]
    public void TheConfirmationMustNameEveryTargetOnce(string typed, bool confirmed)
    {
        DiskChoice[] targets = [ListedDisks.SpareDisk, ListedDisks.SpareDisk with { Name = "sde", Path = "/dev/sde" }];
        Assert.Equal(confirmed, DeployScreen.NamesAll(typed, targets));
    }
}
