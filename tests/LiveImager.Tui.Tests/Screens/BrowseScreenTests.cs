using LiveImager.Engine.Opening;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

/// <summary>Browse an image: image → partition → folders → marks → destination → the copy-out job with the right
/// paths; the image is closed on every way out. The "mounted" partition is a directory tree of the test's own.</summary>
public sealed class BrowseScreenTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private readonly string _store;
    private readonly string _mount;
    private readonly string _destination;
    private readonly ScriptedJobs _jobs = new();
    private readonly OpenedImage _opened;

    public BrowseScreenTests()
    {
        _store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        _mount = Directory.CreateDirectory(_scratch.File("mnt/p2")).FullName;
        _destination = Directory.CreateDirectory(_scratch.File("out")).FullName;
        Directory.CreateDirectory(Path.Combine(_mount, "home/anna/photos"));
        File.WriteAllBytes(Path.Combine(_mount, "home/anna/letter.odt"), new byte[12_345]);
        File.WriteAllBytes(Path.Combine(_mount, "home/anna/photos/beach.jpg"), new byte[2_000_000]);
        File.WriteAllText(Path.Combine(_mount, "notes.txt"), "notes");
        _opened = new OpenedImage(_scratch.File("mnt"),
        [
            new BrowsedPartition(1, "swap", null, 4_000_000, null, "swap holds no files"),
            new BrowsedPartition(2, "ext4", "rootfs", 32_000_000_000, _mount, null),
        ]);
        _jobs.Image = _opened;
    }

    public void Dispose() => _scratch.Dispose();

    private TuiHarness StartAtPartitions()
    {
        var tui = new TuiHarness(new TuiServices { Images = new ListedImages(ListedImages.LaptopImage(_store)), Jobs = _jobs });
        tui.Services.Session.StorePath = _store;
        tui.Press((Key)'0');
        tui.AssertShows("LiveImager > Browse");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5: the image to browse");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 3 of 5: a partition of Samsung-SSD-860_S3Z9NB0K123456_2026-11-20");
        tui.WaitForText("p2    ext4       rootfs                 32.0 GB  can be opened");
        return tui;
    }

    [Fact]
    public void AMarkedFolderAndFileAreCopiedIntoTheChosenDirectoryAndTheImageIsClosedAfterwards()
    {
        using TuiHarness tui = StartAtPartitions();
        tui.AssertShows("p1    swap                               4.0 MB  cannot be opened");
        tui.AssertShows("p1 cannot be opened: swap holds no files");
        tui.Press(Key.Enter);
        Assert.Equal(2, ((BrowseScreen)tui.Host.Top).Step);

        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);
        tui.WaitForText("Step 4 of 5: the files of p2 (ext4)");
        tui.WaitForText("home/");
        tui.AssertShows("notes.txt");
        tui.Press(Key.Enter);
        tui.WaitForText("/home");
        tui.WaitForText("anna/");
        tui.Press(Key.Enter);
        tui.WaitForText("photos/");
        tui.AssertShows("letter.odt");
        tui.AssertShows("12.3 kB");
        Assert.Equal("home/anna", ((BrowseScreen)tui.Host.Top).Folder);

        // Folders come first: photos/, then letter.odt. Space marks and moves down: mark both, unmark photos, mark it again.
        tui.Press(Key.Space);
        tui.Press(Key.Space);
        tui.Press(Key.CursorUp);
        tui.Press(Key.Space);
        tui.AssertShows("1 marked item: /home/anna/letter.odt");
        tui.AssertShows("* letter.odt");
        tui.Press(Key.CursorUp);
        tui.Press(Key.Space);
        tui.AssertShows("2 marked items: /home/anna/letter.odt, /home/anna/photos");
        // Backspace and Esc each go up one folder.
        tui.Press(Key.Backspace);
        tui.WaitForText("anna/");
        Assert.Equal("home", ((BrowseScreen)tui.Host.Top).Folder);
        tui.Press(Key.Esc);
        tui.WaitForText("notes.txt");
        Assert.Equal("", ((BrowseScreen)tui.Host.Top).Folder);
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.Press(Key.C);

        tui.WaitForText("Step 5 of 5: the directory to copy 3 marked items into");
        tui.AssertShows("Marked: /home/anna/letter.odt, /home/anna/photos, /notes.txt");
        SetField(tui, _destination);
        tui.Press(Key.Enter);

        tui.WaitFor(() => tui.Host.Top is ProgressScreen, "the progress screen");
        var request = (CopyOutRequest)WaitForRequest();
        Assert.Equal(_mount, request.Partition.MountPoint);
        Assert.Equal(["home/anna/letter.odt", "home/anna/photos", "notes.txt"], request.Items);
        Assert.Equal(_destination, request.Destination);
        tui.AssertShows($"Copying 3 marked items from p2 into {_destination}");
        _jobs.Progress.Report(new JobProgress(1_000_000, 2_012_350, 5_000_000, TimeSpan.FromSeconds(1), null));
        tui.WaitForText("1.0 MB of 2.0 MB (50%)");
        Assert.Empty(_jobs.Closed);

        _jobs.End(new JobOutcome(false, ["Copied 2 files and 1 folder, 2.0 MB, from partition 2 into " + _destination + ".", "Not copied:",
            "  notes.txt: " + _destination + "/notes.txt already exists; not overwritten"], "1 item not copied.", null) { PartlyDone = "not everything was copied" });
        tui.WaitForText("The copy ended in 00:00, not everything was copied:");
        tui.AssertShows("Not copied:");
        tui.AssertShows("1 item not copied.");
        Assert.Empty(_jobs.Closed);
        tui.Press(Key.Esc);
        Assert.IsType<MainMenuScreen>(tui.Host.Top);
        Assert.Equal([_opened], _jobs.Closed);
    }

    [Fact]
    public void AnEncryptedImageIsMountedOnlyOnceItsPassphraseIsTypedAndAWrongOneIsAskedAgain()
    {
        _jobs.ImagePassphrase = "the right one";
        ImageSummary locked = ListedImages.LaptopImage(_store) with { Encrypted = true };
        using var tui = new TuiHarness(new TuiServices { Images = new ListedImages(locked), Jobs = _jobs });
        tui.Services.Session.StorePath = _store;
        tui.Press((Key)'0');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5: the image to browse");
        tui.Press(Key.Enter);
        tui.WaitForText("is encrypted: type its passphrase and press Enter");
        Assert.Empty(_jobs.OpenedWithPassphrase);

        tui.Type("a wrong one");
        tui.Press(Key.Enter);
        tui.WaitForText("The passphrase is not this image's. Type it again");
        Assert.Null(((BrowseScreen)tui.Host.Top).Opened);

        tui.Type("the right one");
        tui.Press(Key.Enter);
        tui.WaitForText("p2    ext4       rootfs                 32.0 GB  can be opened");
        Assert.Equal([true, true], _jobs.OpenedWithPassphrase);
        Assert.DoesNotContain("the right one", tui.Screen);
        Assert.NotNull(((BrowseScreen)tui.Host.Top).Opened);
    }

    [Fact]
    public void EscFromThePartitionsClosesTheImageAndGoesBackToTheImages()
    {
        using TuiHarness tui = StartAtPartitions();
        Assert.NotNull(((BrowseScreen)tui.Host.Top).Opened);

        tui.Press(Key.Esc);
        tui.WaitForText("Step 2 of 5: the image to browse");

        Assert.Equal([_opened], _jobs.Closed);
        Assert.Null(((BrowseScreen)tui.Host.Top).Opened);
        tui.Press(Key.Esc);
        tui.Press(Key.Esc);
        Assert.IsType<MainMenuScreen>(tui.Host.Top);
        Assert.Single(_jobs.Closed);
    }

    [Fact]
    public void NothingMarkedGoesNowhereAndStoppingTheTuiWhileBrowsingClosesTheImage()
    {
        TuiHarness tui = StartAtPartitions();
        try
        {
            tui.Press(Key.CursorDown);
            tui.Press(Key.Enter);
            tui.WaitForText("notes.txt");
            tui.Press(Key.C);
            tui.AssertShows("Nothing is marked yet: Space marks the file or folder under the cursor.");
            Assert.Equal(3, ((BrowseScreen)tui.Host.Top).Step);
            Assert.Empty(_jobs.Closed);
        }
        finally
        {
            tui.Dispose();
        }
        Assert.Equal([_opened], _jobs.Closed);
    }

    private object WaitForRequest()
    {
        _ = _jobs.Progress;
        return _jobs.Request!;
    }

    /// <summary>Replaces the destination field's text (it starts with the session's store).</summary>
    private static void SetField(TuiHarness tui, string text)
    {
        for (int i = 0; i < 200; i++)
        {
            tui.Press(Key.Backspace);
        }
        tui.Type(text);
    }
}
