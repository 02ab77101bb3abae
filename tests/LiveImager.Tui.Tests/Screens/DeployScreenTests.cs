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
