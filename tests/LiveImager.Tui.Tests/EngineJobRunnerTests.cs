using System.Security.Cryptography;
using System.Text.RegularExpressions;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Logging;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests;

/// <summary>The TUI on the real Engine seams: capture, verify and restore of a disk image file made by sfdisk and
/// mke2fs, driven by keys; only the disk list is given, since regular files are disks the scanner does not list.</summary>
public class EngineJobRunnerTests
{
    private const long DiskBytes = 48L << 20;
    private const long PartitionStart = 1L << 20;
    private const long PartitionBytes = 40L << 20;
    private const long TooSmallBytes = 8L << 20;

    [SkippableFact]
    public void CaptureVerifyAndRestoreThroughTheTuiGiveTheSameDisk()
    {
        using var scratch = new ScratchDirectory();
        string source = MakeExt4Disk(scratch);
        string target = scratch.SparseFile("target.img", DiskBytes);
        // Too small even for the data: a disk that takes the data is offered a fit restore instead (RestoreScreenTests).
        string tooSmall = scratch.SparseFile("small.img", TooSmallBytes);
        string store = Directory.CreateDirectory(scratch.File("store")).FullName;
        // Not images: the list must leave them out without reading them whole.
        File.WriteAllText(Path.Combine(store, "notes.txt"), "not an image");
        File.WriteAllBytes(Path.Combine(store, "old.partial"), new byte[4096]);
        var disks = new ListedDisks(FileDisk("source", source), FileDisk("small", tooSmall), FileDisk("target", target));
        using var tui = new TuiHarness(new TuiServices
        {
            Disks = disks,
            Jobs = new EngineJobRunner(scratch.File("session.log")),
            Images = new EngineImageCatalog(),
        });

        tui.Press((Key)'1');
        tui.WaitForText("source.img");
        tui.Press(Key.Enter);
        tui.Type(store);
        tui.Press(Key.Enter);
        tui.WaitForText("Step 3 of 5");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 4 of 5");
        tui.Press(Key.Enter);
        tui.AssertShows("Step 5 of 5");
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("The capture finished in");
        tui.AssertShows("Verified: all");
        tui.AssertShows($"The log is in {scratch.File("session.log")}");
        string image = Assert.Single(Directory.GetFiles(store, "source*"));

        tui.Press(Key.Esc);
        tui.Press((Key)'3');
        tui.Type(image);
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("Intact: all");

        tui.Press(Key.Esc);
        tui.Press((Key)'2');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5");
        tui.AssertShows(Path.GetFileName(image));
        tui.AssertShows("Partitions: 1 ext4 41.9 MB");
        Assert.DoesNotContain("notes.txt", tui.Screen, StringComparison.Ordinal);
        tui.Press(Key.Enter);
        tui.WaitForText("target.img");
        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);
        tui.AssertShows("small cannot be chosen: too small, and its data does not fit it either:");
        tui.AssertShows("partition 1 (ext4) holds");
        tui.Press(Key.CursorDown);
        tui.Press(Key.Enter);
        tui.AssertShows("EVERYTHING ON target WILL BE ERASED");
        ConfirmAndRestore(tui, "target", target);

        // The source's free blocks are zeros in a fresh sparse file, so the restored disk equals it byte for byte.
        Assert.Equal(Sha256(source), Sha256(target));
        Assert.Equal(TooSmallBytes, new FileInfo(tooSmall).Length);
    }

    /// <summary>A Clonezilla image directory in the store is listed, marked as one, with its partitions, and restores
    /// through the same wizard onto a disk that then equals the source.</summary>
    [SkippableFact]
    public void AClonezillaImageIsListedMarkedAndRestoresThroughTheWizard()
    {
        ExternalTool.Require("partclone.extfs", "partclone");
        ExternalTool.Require("zstd", "zstd");
        using var scratch = new ScratchDirectory();
        string source = MakeExt4Disk(scratch);
        string store = Directory.CreateDirectory(scratch.File("store")).FullName;
        ExternalTool.Run("bash", RepositoryScripts.Path("make-clonezilla-image.sh"), source, Path.Combine(store, "2026-12-07-pc-img"));
        string target = scratch.SparseFile("target.img", DiskBytes);
        using var tui = new TuiHarness(new TuiServices
        {
            Disks = new ListedDisks(FileDisk("target", target)),
            Jobs = new EngineJobRunner(scratch.File("session.log")),
            Images = new EngineImageCatalog(),
        });
        tui.Services.Session.StorePath = store;

        tui.Press((Key)'2');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5");
        tui.AssertShows("2026-12-07-pc-img [Clonezilla]");
        tui.AssertShows("Partitions: 1 ext4 41.9 MB");
        tui.Press(Key.Enter);
        tui.WaitForText("target.img");
        tui.Press(Key.Enter);
        tui.AssertShows("EVERYTHING ON target WILL BE ERASED");
        ConfirmAndRestore(tui, "target", target);
        Assert.Equal(Sha256(source), Sha256(target));
    }

    /// <summary>An encrypted image made by the Engine is offered in the restore wizard, which asks for its passphrase in
    /// the masked field: a wrong one is said on the screen and writes nothing; the right one shows the image's details
    /// and restores it onto a disk that then equals the source.</summary>
    [SkippableFact]
    public void AnEncryptedImageRestoresThroughTheWizardAfterItsPassphraseAndAWrongOneWritesNothing()
    {
        using var scratch = new ScratchDirectory();
        string source = MakeExt4Disk(scratch);
        string store = Directory.CreateDirectory(scratch.File("store")).FullName;
        using (var passphrase = new ImagePassphrase("correct horse"))
        {
            new CaptureJob(new CaptureOptions(source, Path.Combine(store, "source.limg"), Passphrase: passphrase)).Run(CancellationToken.None);
        }
        string target = scratch.SparseFile("target.img", DiskBytes);
        using (FileStream stream = File.OpenWrite(target))
        {
            stream.Write(RandomNumberGenerator.GetBytes(1 << 20));
        }
        string before = Sha256(target);
        using var tui = new TuiHarness(new TuiServices
        {
            Disks = new ListedDisks(FileDisk("target", target)),
            Jobs = new EngineJobRunner(scratch.File("session.log")),
            Images = new EngineImageCatalog(),
        });
        tui.Services.Session.StorePath = store;

        tui.Press((Key)'2');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5");
        tui.AssertShows("[encrypted]");
        tui.AssertShows("locked");
        tui.Press(Key.Enter);
        tui.WaitForText("Passphrase:");
        tui.Type("wrong horse");
        tui.Press(Key.Enter);
        tui.WaitForText("The passphrase is not this image's");
        Assert.DoesNotContain("horse", tui.Screen, StringComparison.Ordinal);
        Assert.Equal(before, Sha256(target));

        tui.Type("correct horse");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 3 of 5");
        Assert.DoesNotContain("horse", tui.Screen, StringComparison.Ordinal);
        tui.Press(Key.Enter);
        tui.AssertShows("EVERYTHING ON target WILL BE ERASED");
        // The summary's date comes from the metadata, which reads only under the passphrase.
        tui.AssertShows($"taken {DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)}");
        ConfirmAndRestore(tui, "target", target);
        Assert.Equal(Sha256(source), Sha256(target));
    }

    /// <summary>Verify asks for an encrypted image's passphrase in the masked field: a wrong one fails the check with
    /// the reason, the right one checks every frame.</summary>
    [SkippableFact]
    public void VerifyAsksForAnEncryptedImagesPassphrase()
    {
        using var scratch = new ScratchDirectory();
        string source = MakeExt4Disk(scratch);
        string image = scratch.File("source.limg");
        using (var passphrase = new ImagePassphrase("correct horse"))
        {
            new CaptureJob(new CaptureOptions(source, image, Passphrase: passphrase)).Run(CancellationToken.None);
        }
        using var tui = new TuiHarness(new TuiServices { Jobs = new EngineJobRunner(scratch.File("session.log")) });

        tui.Press((Key)'3');
        tui.Type(image);
        tui.Press(Key.Enter);
        tui.WaitForText("The image is encrypted: type its passphrase");
        tui.Type("wrong horse");
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("The passphrase is not this image's");
        Assert.DoesNotContain("horse", tui.Screen, StringComparison.Ordinal);

        tui.Press(Key.Esc);
        tui.Press((Key)'3');
        tui.Type(image);
        tui.Press(Key.Enter);
        tui.WaitForText("The image is encrypted: type its passphrase");
        tui.Type("correct horse");
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("Intact: all");
    }

    [SkippableFact]
    public void DeployWritesOneImageOntoTwoDisksAfterTheirNamesAreTypedAndRefusesATooSmallOne()
    {
        using var scratch = new ScratchDirectory();
        string source = MakeExt4Disk(scratch);
        string store = Capture(scratch, source);
        string first = scratch.SparseFile("first.img", DiskBytes);
        string tooSmall = scratch.SparseFile("small.img", PartitionBytes);
        string second = scratch.SparseFile("second.img", DiskBytes);
        string blank = Sha256(first);
        using var tui = DeployHarness(scratch, store, FileDisk("first", first), FileDisk("small", tooSmall), FileDisk("second", second));

        tui.WaitForText("second.img");
        tui.Press(Key.Space);
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.AssertShows("small cannot be chosen: too small.");
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.AssertShows("Enter goes on with the 2 marked.");
        tui.Press(Key.Enter);
        tui.AssertShows("Write 2 disks, each from the same read:");
        tui.AssertShows("EVERYTHING ON first, second WILL BE ERASED.");
        Assert.DoesNotContain("small ", tui.Screen, StringComparison.Ordinal);
        tui.Press(Key.Enter);
        tui.AssertShows("Type the names of all 2 disks, separated by spaces:");

        // One name of two is not a confirmation.
        tui.Type("second");
        tui.Press(Key.Enter);
        tui.AssertShows("'second' does not name exactly first second; nothing was written.");
        Assert.IsType<DeployScreen>(tui.Host.Top);
        Assert.Equal((blank, blank), (Sha256(first), Sha256(second)));

        tui.Type(" first");
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("The deployment finished in");
        tui.AssertShows($"{first}: restored");
        tui.AssertShows($"{second}: restored");
        string expected = Sha256(source);
        Assert.Equal((expected, expected), (Sha256(first), Sha256(second)));
        Assert.Equal(PartitionBytes, new FileInfo(tooSmall).Length);
    }

    [SkippableFact]
    public void ADeployTargetThatFailsIsReportedBesideTheOneThatWasWritten()
    {
        using var scratch = new ScratchDirectory();
        string source = MakeExt4Disk(scratch);
        string store = Capture(scratch, source);
        string kept = scratch.SparseFile("kept.img", DiskBytes);
        string unplugged = Directory.CreateDirectory(scratch.File("unplugged")).FullName;
        string lost = Path.Combine(unplugged, "lost.img");
        File.Copy(scratch.SparseFile("lost-template.img", DiskBytes), lost);
        using var tui = DeployHarness(scratch, store, FileDisk("kept", kept), FileDisk("lost", lost));

        tui.WaitForText("lost.img");
        tui.Press(Key.Space);
        tui.Press(Key.CursorDown);
        tui.Press(Key.Space);
        tui.Press(Key.Enter);
        tui.Press(Key.Enter);
        tui.Type("kept lost");
        // The disk goes away between the choice and the start, as an unplugged USB disk would.
        Directory.Delete(unplugged, recursive: true);
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("The deployment ended in");
        tui.AssertShows("not on every disk:");
        tui.AssertShows($"{kept}: restored");
        tui.AssertShows($"{lost}: refused:");
        tui.AssertShows("1 of 2 disks failed; the others are restored.");
        Assert.False(((ResultScreen)tui.Host.Top).Succeeded);
        Assert.Equal(Sha256(source), Sha256(kept));
        Assert.False(File.Exists(lost));
    }

    [SkippableFact]
    public void ADeploymentReportsEachDiskByItsNameAndARefusedOneAsFailedWithItsReason()
    {
        using var scratch = new ScratchDirectory();
        string source = MakeExt4Disk(scratch);
        string store = Capture(scratch, source);
        ImageSummary image = Assert.Single(new EngineImageCatalog().ListAsync(store, CancellationToken.None).Result);
        string kept = scratch.SparseFile("kept.img", DiskBytes);
        string lost = scratch.File("unplugged/lost.img");
        var reports = new RecordedProgress();

        JobOutcome outcome = new EngineJobRunner(scratch.File("session.log"))
            .RestoreAsync(new RestoreRequest(image, [FileDisk("kept", kept), new DiskChoice("lost", lost, DiskBytes, "lost.img", "file", "file", [], null, false)]),
                reports, CancellationToken.None).Result;

        Assert.False(outcome.Succeeded);
        Assert.NotEmpty(reports.All);
        Assert.All(reports.All, r => Assert.Equal(["kept", "lost"], r.Disks!.Select(d => d.Disk)));
        DiskProgress[] last = [.. reports.All[^1].Disks!];
        Assert.Equal((RestoreTargetState.Done, last[0].BytesTotal), (last[0].State, last[0].BytesDone));
        Assert.True(last[0].BytesTotal > 0);
        Assert.Equal(RestoreTargetState.Failed, last[1].State);
        Assert.StartsWith("refused: ", last[1].Error);
        Assert.Contains(lost, last[1].Error);
        Assert.Equal(Sha256(source), Sha256(kept));
        Assert.Matches($@"^{Regex.Escape(kept)}: restored \d+\.\d [kMG]B in \d+\.\d s \(\d+\.\d [kMG]B/s\)\.$", outcome.Figures[0]);
        Assert.DoesNotContain(" bytes", outcome.Figures[0], StringComparison.Ordinal);
    }

    [Fact]
    public void ARestoresFiguresGiveSizesTimeAndRateForPeopleAndLeaveTheErrorsOwnNumbers()
    {
        const string error = "pwrite at 48318382080 /dev/sde: Input/output error (errno 5)";
        JobOutcome outcome = EngineJobRunner.RestoreOutcome(new RestoreResult(
            [new RestoreTargetResult("/dev/sdc", true, 120_570_000_000, "restored", "GPT backup moved to the end of the disk"),
             new RestoreTargetResult("/dev/sdd", true, 10, "restored", ""),
             new RestoreTargetResult("/dev/sde", false, 48_318_382_080, "failed after", $"{error}; /dev/sde is partly written"),
             new RestoreTargetResult("/dev/sdf", false, 0, null, "refused: /dev/sdf is too small")],
            120_570_000_000, TimeSpan.FromSeconds(391), Cancelled: false), "/var/log/liveimager/session.log");

        Assert.Equal(
            [
                "/dev/sdc: restored 120.6 GB in 06:31 (308.4 MB/s); GPT backup moved to the end of the disk.",
                "/dev/sdd: restored 10 B in 06:31 (0 B/s).",
                $"/dev/sde: failed after 48.3 GB: {error}; /dev/sde is partly written.",
                "/dev/sdf: refused: /dev/sdf is too small.",
            ],
            outcome.Figures);
        Assert.False(outcome.Succeeded);
        Assert.Equal("2 of 4 disks failed; the others are restored.", outcome.Error);
    }

    [SkippableFact]
    public void ADamagedImageIsReportedInPlainWordsWithTheLog()
    {
        using var scratch = new ScratchDirectory();
        string image = scratch.File("broken.img");
        File.WriteAllText(image, "LIVEIMG\0 but nothing after it");
        using var tui = new TuiHarness(new TuiServices { Jobs = new EngineJobRunner(scratch.File("session.log")) });
        tui.Press((Key)'3');
        tui.Type(image);
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("The verify did not finish.");
        tui.AssertShows("The image is damaged or not an image:");
        tui.AssertShows($"The log is in {scratch.File("session.log")}");
    }

    [Fact]
    public void TheLogPathIsTheFileTheSessionLoggerWrites()
    {
        using var scratch = new ScratchDirectory();
        using (var logger = LogSetup.CreateLogger(scratch.Path))
        {
            logger.Information("a line to find");
        }
        TuiServices services = TuiServices.ForThisBuild(scratch.Path);
        Assert.Contains("a line to find", File.ReadAllText(services.LogPath!), StringComparison.Ordinal);
        Assert.NotNull(services.Disks);
        Assert.NotNull(services.Jobs);
        Assert.NotNull(services.Images);
    }

    /// <summary>Captures <paramref name="source"/> with the Engine, as the CLI does, into a new store directory.</summary>
    private static string Capture(ScratchDirectory scratch, string source)
    {
        string store = Directory.CreateDirectory(scratch.File("store")).FullName;
        new CaptureJob(new CaptureOptions(source, Path.Combine(store, "source.limg"))).Run(CancellationToken.None);
        return store;
    }

    /// <summary>The TUI on the Engine with the given disks, at the deploy wizard's target step for the store's one image.</summary>
    private static TuiHarness DeployHarness(ScratchDirectory scratch, string store, params DiskChoice[] disks)
    {
        var tui = new TuiHarness(new TuiServices
        {
            Disks = new ListedDisks(disks),
            Jobs = new EngineJobRunner(scratch.File("session.log")),
            Images = new EngineImageCatalog(),
        });
        tui.Services.Session.StorePath = store;
        tui.Press((Key)'4');
        tui.Press(Key.Enter);
        tui.WaitForText("Step 2 of 5: the image to deploy");
        tui.Press(Key.Enter);
        tui.WaitForText("Step 3 of 5");
        return tui;
    }

    internal static DiskChoice FileDisk(string name, string path) =>
        new(name, path, new FileInfo(path).Length, Path.GetFileName(path), "file", "file", [], null, false);

    /// <summary>A GPT disk with one ext4 partition holding a few files, made by the real tools.</summary>
    /// <summary>The browse screen's copy through the real <see cref="LiveImager.Engine.Opening.CopyOutJob"/>: a folder
    /// copied, an existing file left alone and named on the result screen's lines, the progress ending full.</summary>
    [Fact]
    public async Task CopyOutCopiesTheMarkedItemsAndNamesWhatWasLeftOut()
    {
        using var scratch = new ScratchDirectory();
        string root = Directory.CreateDirectory(scratch.File("p1")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "docs/old"));
        File.WriteAllText(Path.Combine(root, "docs/a.txt"), "alpha");
        File.WriteAllText(Path.Combine(root, "docs/old/b.txt"), "bravo");
        File.WriteAllText(Path.Combine(root, "kept.txt"), "from the image");
        string destination = Directory.CreateDirectory(scratch.File("out")).FullName;
        File.WriteAllText(Path.Combine(destination, "kept.txt"), "already here");
        var partition = new LiveImager.Engine.Opening.BrowsedPartition(1, "ext4", null, 1 << 20, root, null);
        var reports = new List<JobProgress>();

        JobOutcome outcome = await new EngineJobRunner(null).CopyOutAsync(new CopyOutRequest(partition, ["docs", "kept.txt"], destination),
            new SynchronousProgress(reports.Add), CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Equal("not everything was copied", outcome.PartlyDone);
        Assert.Equal("1 item not copied.", outcome.Error);
        Assert.Equal($"Copied 2 files and 2 folders, 10 B, from partition 1 into {destination}.", outcome.Figures[0]);
        Assert.Equal($"  kept.txt: {destination}/kept.txt already exists; not overwritten", outcome.Figures[^1]);
        Assert.Equal("bravo", File.ReadAllText(Path.Combine(destination, "docs/old/b.txt")));
        Assert.Equal("already here", File.ReadAllText(Path.Combine(destination, "kept.txt")));
        Assert.Equal(reports[^1].BytesTotal, reports[^1].BytesDone);
    }

    private sealed class SynchronousProgress(Action<JobProgress> report) : IProgress<JobProgress>
    {
        public void Report(JobProgress value) => report(value);
    }

    internal static string MakeExt4Disk(ScratchDirectory scratch)
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("mke2fs", "e2fsprogs");
        string files = Directory.CreateDirectory(scratch.File("files")).FullName;
        for (int i = 0; i < 3; i++)
        {
            File.WriteAllBytes(Path.Combine(files, $"file{i}.bin"), RandomNumberGenerator.GetBytes(300_000 * (i + 1)));
        }
        string disk = scratch.SparseFile("source.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", $"label: gpt\nstart={PartitionStart / 512}, size={PartitionBytes / 512}, type=linux\n", "-q", disk);
        // Without descriptor checksums no inode-table end is left out, so a restore gives back the source byte for byte
        // (with them, the restore clears INODE_ZEROED in the descriptors: docs/used-blocks.md, tested with the ext tests).
        ExternalTool.Run("mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum,^uninit_bg", "-E", $"offset={PartitionStart}", "-d", files, disk,
            $"{PartitionBytes >> 10}k");
        return disk;
    }

    /// <summary>Keeps every report, in order, as the job's thread sends them.</summary>
    private sealed class RecordedProgress : IProgress<JobProgress>
    {
        private readonly List<JobProgress> _reports = [];

        public IReadOnlyList<JobProgress> All
        {
            get
            {
                lock (_reports)
                {
                    return [.. _reports];
                }
            }
        }

        public void Report(JobProgress value)
        {
            lock (_reports)
            {
                _reports.Add(value);
            }
        }
    }

    /// <summary>At the restore wizard's summary: confirms, types the target's name, and waits for the restore to finish
    /// onto <paramref name="target"/>.</summary>
    private static void ConfirmAndRestore(TuiHarness tui, string name, string target)
    {
        tui.Press(Key.Enter);
        tui.Type(name);
        tui.Press(Key.Enter);
        WaitForResult(tui);
        tui.AssertShows("The restore finished in");
        tui.AssertShows($"{target}: restored");
    }

    private static void WaitForResult(TuiHarness tui) =>
        tui.WaitFor(() => tui.Host.Top is ResultScreen, "the job's result");

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
