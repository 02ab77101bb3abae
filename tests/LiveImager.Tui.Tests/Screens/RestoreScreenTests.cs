using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class RestoreScreenTests
{
    [Fact]
    public void AnIncompleteImageIsListedWithItsProblemAndCannotBeChosen()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        ImageSummary cut = ListedImages.LaptopImage(store.Path) with { Name = "cut-short.lim" };
        cut = cut with { Problem = "no footer: the capture did not finish" };
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Images = new ListedImages(cut), Jobs = jobs });
        tui.Services.Session.StorePath = store.Path;
        tui.Press((Key)'2');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5");
        tui.AssertShows("cut-short.lim");
        tui.AssertShows("INCOMPLETE");
        tui.AssertShows("cut-short.lim cannot be restored: no footer: the capture did not finish");

        tui.Press(Key.Enter);

        Assert.Equal(1, ((RestoreScreen)tui.Host.Top).Step);
        Assert.Null(jobs.Request);
    }

    [Fact]
    public void ATooSmallTargetIsRefusedWithTheNumbersAndAWrongTypedNameWritesNothing()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        ImageSummary image = ListedImages.LaptopImage(store.Path);
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Images = new ListedImages(image), Jobs = jobs });
        tui.Services.Session.StorePath = store.Path;
        tui.Press((Key)'2');
        tui.AssertShows(store.Path);
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5");
        tui.AssertShows("From Samsung SSD 860, serial S3Z9NB0K123456, a 500.1 GB disk");
        tui.AssertShows("Needs a disk of at least 120.6 GB (120,570,000,000 bytes)");
        tui.Press(Key.Enter);

        tui.WaitForText("Kingston A400");
        tui.Press(Key.End);
        tui.Press(Key.Enter);
        tui.AssertShows("sdd cannot be chosen: too small.");
        tui.AssertShows("It holds    64.0 GB (64,023,257,088 bytes);");
        tui.AssertShows("the image needs 120.6 GB (120,570,000,000 bytes).");
        Assert.Equal(2, ((RestoreScreen)tui.Host.Top).Step);

        tui.Press(Key.CursorUp);
        tui.Press(Key.Enter);
        tui.AssertShows("EVERYTHING ON sdc WILL BE ERASED");
        tui.Press(Key.Enter);
        tui.AssertShows("Type the target's name, sdc,");
        tui.Type("sda");
        tui.Press(Key.Enter);
        tui.AssertShows("'sda' is not sdc; nothing was written.");
        Assert.Null(jobs.Request);
        Assert.IsType<RestoreScreen>(tui.Host.Top);

        for (int i = 0; i < 3; i++)
        {
            tui.Press(Key.Backspace);
        }
        tui.Type("sdc");
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the restore to start");
        var request = Assert.IsType<RestoreRequest>(jobs.Request);
        Assert.Equal(("sdc", image.Path), (Assert.Single(request.Targets).Name, request.Image.Path));

        jobs.End(new JobOutcome(true, ["Wrote 120.6 GB to sdc at 310.0 MB/s."], null, "/var/log/liveimager/session.log"));
        tui.WaitForText("The restore finished in");
        tui.AssertShows("Wrote 120.6 GB to sdc at 310.0 MB/s.");
        tui.AssertShows("The log is in /var/log/liveimager/session.log");
        tui.Press(Key.Esc);
        Assert.IsType<MainMenuScreen>(tui.Host.Top);
    }

    [Fact]
    public void WithoutAnImageCatalogRestoreSaysSoAndGoesNoFurther()
    {
        using var tui = new TuiHarness(new TuiServices());
        tui.Press((Key)'2');
        tui.Press(Key.Enter);
        tui.AssertShows($"Reading image details is {TuiServices.NotAvailable}.");
        Assert.Equal(0, ((RestoreScreen)tui.Host.Top).Step);
    }
}
