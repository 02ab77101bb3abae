using LiveImager.Engine.Imaging;
using LiveImager.Tui;
using LiveImager.Tui.Screens;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class CaptureScreenTests
{
    private static readonly DateTimeOffset s_today = new(2026, 11, 25, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public void ADiskInUseOrTheBootMediumIsListedButCannotBeChosen()
    {
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical() });
        tui.Press((Key)'1');
        tui.WaitForText("Crucial MX500");
        string screen = tui.Screen;
        Assert.Matches(@"sda\s+500\.1 GB\s+Samsung SSD 860\s+S3Z9NB0K123456\s+sata\s+2\s+in use", screen);
        Assert.Matches(@"sdb\s+32\.0 GB\s+SanDisk Ultra.*boot", screen);
        Assert.Contains("Cannot be chosen: sda2 is mounted at /.", screen);

        tui.Press(Key.Enter);
        tui.AssertShows("sda cannot be chosen: sda2 is mounted at /.");
        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);
        tui.AssertShows("sdb cannot be chosen: the live system booted from it.");
        Assert.Equal(0, ((CaptureScreen)tui.Host.Top).Step);

        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);
        Assert.Equal(1, ((CaptureScreen)tui.Host.Top).Step);
        tui.Press(Key.Esc);
        Assert.Equal(0, ((CaptureScreen)tui.Host.Top).Step);
        tui.Press(Key.Esc);
        Assert.IsType<MainMenuScreen>(tui.Host.Top);
    }

    [Fact]
    public void TheWizardCollectsTheRequestAndTheProgressScreenCancelsOnlyWhenConfirmed()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Jobs = jobs, Clock = new FixedClock(s_today) });
        tui.Press((Key)'1');
        tui.WaitForText("Crucial MX500");
        tui.Press(Key.CursorDown);
        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);

        tui.Type(store.Path);
        tui.Press(Key.Enter);
        tui.WaitForText("Step 3 of 5");
        tui.AssertShows("Crucial-MX500_2031E2A1B2C3_2026-11-25");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 4 of 5");
        tui.Press(Key.Enter);
        tui.AssertShows(Path.Combine(store.Path, "Crucial-MX500_2031E2A1B2C3_2026-11-25"));
        tui.Press(Key.Enter);

        var request = Assert.IsType<CaptureRequest>(WaitForRequest(tui, jobs));
        Assert.Equal(("sdc", CaptureOptions.DefaultLevel, 0L, true), (request.Source.Name, request.CompressionLevel, request.SplitBytes, request.VerifyAfter));
        Assert.Equal(store.Path, tui.Services.Session.StorePath);

        jobs.Progress.Report(new JobProgress(32_000_000_000, 64_000_000_000, 250_000_000, TimeSpan.FromSeconds(128), "sdc1 (ntfs)"));
        tui.WaitForText("32.0 GB of 64.0 GB (50%)");
        tui.AssertShows("Rate 250.0 MB/s   Remaining 02:08");
        tui.AssertShows("Partition: sdc1 (ntfs)");

        tui.Press(Key.Esc);
        tui.AssertShows("Cancel the capture?");
        tui.Press(Key.N);
        Assert.False(jobs.Token.IsCancellationRequested);
        tui.Press(Key.Esc);
        tui.Press(Key.Y);
        Assert.True(jobs.Token.IsCancellationRequested);
        tui.WaitForText("The capture was cancelled at your request.");
        Assert.IsType<ResultScreen>(tui.Host.Top);
        tui.Press(Key.Esc);
        Assert.IsType<MainMenuScreen>(tui.Host.Top);
    }

    [Fact]
    public void EncryptTakesAMaskedPassphraseTypedTwice()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Jobs = jobs, Clock = new FixedClock(s_today) });
        OpenTheOptionsStep(tui, store.Path);
        tui.AssertShows("Encrypt the image with a passphrase: no");
        tui.Press(Key.Tab);
        tui.Press(Key.Tab);
        tui.Press(Key.Tab);
        tui.Press(Key.Enter);
        tui.AssertShows("Encrypt the image with a passphrase: yes");
        tui.Press(Key.Tab);
        tui.Type("open sesame");
        tui.Press(Key.Tab);
        tui.Type("open sesamE");
        tui.Press(Key.Enter);
        tui.AssertShows("The two passphrases differ; type them again.");
        Assert.DoesNotContain("sesame", tui.Screen);

        tui.Type("open sesame");
        tui.Press(Key.Tab);
        tui.Type("open sesame");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 5 of 5");
        tui.AssertShows("encrypted (AES-256-GCM) under");
        tui.Press(Key.Enter);

        var request = Assert.IsType<CaptureRequest>(WaitForRequest(tui, jobs));
        using var typed = new LiveImager.Formats.ImageFormat.ImagePassphrase("open sesame");
        Assert.NotNull(request.Passphrase);
        Assert.True(request.Passphrase.SameAs(typed));
    }

    [Fact]
    public void IncrementalIsOfferedOnTheNewestImageOfThisDiskAndNotWithEncryption()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        DiskChoice disk = ListedDisks.SpareDisk;
        ImageSummary Of(string name, int day, string serial) => new(name, Path.Combine(store.Path, name), disk.Model, serial, disk.SizeBytes,
            disk.SizeBytes, 20_000_000_000, new DateTimeOffset(2026, 11, day, 9, 0, 0, TimeSpan.Zero), ["1 ntfs 256.1 GB"]);
        var images = new ListedImages(Of("week-46.lim", 13, disk.Serial), Of("week-47.lim", 20, disk.Serial), Of("other-disk.lim", 24, "ZZZ999"));
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Images = images, Jobs = jobs, Clock = new FixedClock(s_today) });
        OpenTheOptionsStep(tui, store.Path);
        tui.AssertShows("Incremental on week-47.lim: no");
        for (int i = 0; i < 4; i++)
        {
            tui.Press(Key.Tab);
        }
        tui.Press(Key.Enter);
        tui.AssertShows("Incremental on week-47.lim: yes");
        // With Encrypt on too, Next explains why not.
        tui.Press(Key.Tab.WithShift);
        tui.Press(Key.Enter);
        tui.Press(Key.Tab);
        tui.Type("open sesame");
        tui.Press(Key.Tab);
        tui.Type("open sesame");
        tui.Press(Key.Enter);
        tui.AssertShows("An encrypted image cannot be incremental yet");
        tui.Press(Key.Tab.WithShift);
        tui.Press(Key.Tab.WithShift);
        tui.Press(Key.Enter);
        tui.AssertShows("Encrypt the image with a passphrase: no");
        tui.Press(Key.Tab);
        tui.Press(Key.Tab);
        tui.Press(Key.Enter);
        tui.WaitForText("Step 5 of 5");
        tui.AssertShows("incremental on week-47.lim:");
        tui.AssertShows("only what changed since is stored");
        tui.Press(Key.Enter);

        var request = Assert.IsType<CaptureRequest>(WaitForRequest(tui, jobs));
        Assert.Equal("week-47.lim", request.Base);
        Assert.Null(request.Passphrase);
    }

    [Fact]
    public void AnUnreadableSectorAsksWhetherToAbortOrCaptureAgainInRescueMode()
    {
        using var store = new ScratchDirectory();
        var jobs = new ScriptedJobs();
        using var tui = new TuiHarness(new TuiServices { Disks = ListedDisks.Typical(), Jobs = jobs, Clock = new FixedClock(s_today) });
        OpenTheOptionsStep(tui, store.Path);
        tui.Press(Key.Enter);
        tui.Press(Key.Enter);
        var first = Assert.IsType<CaptureRequest>(WaitForRequest(tui, jobs));
        Assert.False(first.Rescue);

        jobs.End(new JobOutcome(false, [], "/dev/sdc: sector 2048 (byte 1048576) cannot be read, in partition 1 (ntfs, byte 0 of the partition)",
            null, UnreadableDisk: true));
        tui.WaitFor(() => tui.Host.Top is ResultScreen, "the result");
        tui.AssertShows("The disk has unreadable sectors: abort (Esc), or capture it again in");
        tui.AssertShows("Capture again in rescue mode");
        jobs.Reset();
        tui.Press(Key.Enter);

        var again = Assert.IsType<CaptureRequest>(WaitForRequest(tui, jobs));
        Assert.Equal(first with { Rescue = true }, again);
        tui.WaitForText("Capturing sdc in rescue mode to");
        Assert.IsType<ProgressScreen>(tui.Host.Top);
        jobs.Progress.Report(new JobProgress(8_000_000_000, 64_000_000_000, 50_000_000, TimeSpan.FromSeconds(1400), "sdc1 (ntfs)",
            BadAreas: 3, UnreadableBytes: 1_050_000));
        tui.WaitForText("Partition: sdc1 (ntfs)   Unreadable: 3 areas, 1.1 MB");
    }

    /// <summary>Capture from the main menu: the Crucial MX500 (the third disk), into <paramref name="store"/>, the image's
    /// proposed name accepted, and on to step 4, the options.</summary>
    private static void OpenTheOptionsStep(TuiHarness tui, string store)
    {
        tui.Press((Key)'1');
        tui.WaitForText("Crucial MX500");
        tui.Press(Key.CursorDown);
        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);
        tui.Type(store);
        tui.Press(Key.Enter);
        tui.WaitForText("Step 3 of 5");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 4 of 5");
    }

    private static object WaitForRequest(TuiHarness tui, ScriptedJobs jobs)
    {
        tui.WaitFor(() => jobs.Request is not null, "the job to start");
        return jobs.Request!;
    }
}
