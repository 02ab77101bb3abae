using LiveImager.Formats.Partitions;
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

    /// <summary>An image of a 500 GB disk with 70 GB used: the 256 GB disk is smaller than the image needs but takes its
    /// data, so it is offered with the plan and a fit restore; the 64 GB disk is refused with the numbers of the
    /// partition that does not fit.</summary>
    [Fact]
    public void ASmallerTargetThatTakesTheDataIsOfferedAFitRestoreWithThePlan()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        const long Efi = 512L << 20;
        ImageSummary image = ListedImages.LaptopImage(store.Path) with
        {
            RequiredBytes = 500_107_862_016,
            Fit = new FitDisk(PartitionTableKind.Gpt,
            [
                new FitSource(1, 1L << 20, Efi, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "fat32", 30_000_000),
                new FitSource(2, (1L << 20) + Efi, 499_570_991_104, "0fc63daf-8483-4772-8e79-3d69d8477de4", "ext4", 70_000_000_000),
            ]),
        };
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Images = new ListedImages(image), Jobs = jobs });
        tui.Services.Session.StorePath = store.Path;
        tui.Press((Key)'2');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5");
        tui.Press(Key.Enter);

        tui.WaitForText("Kingston A400");
        tui.Press(Key.End);
        tui.Press(Key.Enter);
        tui.AssertShows("sdd cannot be chosen: too small, and its data does not fit it either:");
        // 70 GB used and a tenth for the margin, in whole MiB; the disk less the 1 MiB before the first partition, the
        // 1 MiB for GPT's backup and the EFI partition, which keeps its size.
        tui.AssertShows("partition 2 (ext4) holds 70.0 GB, 77.0 GB with the margin;");
        tui.AssertShows($"the disk leaves room for {ByteSize.Format(64_023_257_088 - (2L << 20) - Efi)}");
        Assert.Equal(2, ((RestoreScreen)tui.Host.Top).Step);

        tui.Press(Key.CursorUp);
        tui.Press(Key.Enter);
        tui.AssertShows("sdc is smaller than the image needs (500.1 GB) but the data fits:");
        tui.AssertShows("p1 fat32    536.9 MB ->   536.9 MB at 1 MiB  keep");
        // All the room the EFI partition and the table leave goes to the one partition that shrinks, in whole MiB.
        long shrunk = (256_060_514_304 - (2L << 20) - Efi) / (1 << 20) * (1 << 20);
        tui.AssertShows($"p2 ext4     499.6 GB ->   {ByteSize.Format(shrunk)} at 513 MiB  shrink (70.0 GB used)");
        tui.AssertShows("EVERYTHING ON sdc WILL BE ERASED");
        tui.Press(Key.Enter);
        tui.AssertShows("Type the target's name, sdc, and press Enter to fit the image onto it:");
        tui.Type("sdc");
        tui.Press(Key.Enter);
        tui.WaitFor(() => jobs.Request is not null, "the restore to start");
        var request = Assert.IsType<RestoreRequest>(jobs.Request);
        Assert.True(request.Fit);
        Assert.Equal("sdc", Assert.Single(request.Targets).Name);

        jobs.Progress.Report(new JobProgress(0, 0, 0, null, "2", Step: "shrinking partition 2 (ext4) with resize2fs"));
        tui.WaitForText("Shrinking partition 2 (ext4) with resize2fs...");
        jobs.End(new JobOutcome(true, ["/dev/sdc: restored with its partitions shrunk to fit."], null, null));
        tui.WaitForText("The restore finished in");
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
