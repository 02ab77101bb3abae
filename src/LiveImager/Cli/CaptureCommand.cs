using System.CommandLine;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Cli;

/// <summary><c>liveimager capture SOURCE IMAGE [--level N] [--split SIZE] [--force] [--no-space-check] [--rescue] [--forensic [--case C] [--examiner E] [--notes N]] [--encrypt [--passphrase-file F]] [--base EARLIER.lim] [--json-progress]</c>;
/// IMAGE may be a store URL (docs/storage.md).</summary>
internal static class CaptureCommand
{
    /// <param name="hooks">Set when an unattended run invokes the verb.</param>
    public static Command Create(JobHooks? hooks = null)
    {
        var source = new Argument<string>("source") { Description = "The disk to capture (/dev/sdb) or a disk image file" };
        var image = new Argument<string>("image") { Description = "The image to write: a path, a store URL (ssh://user@host/dir/name.lim), or - for standard output" };
        var imageOptions = new ImageWriteOptions("adaptive, 3 while the cores are the limit, up to 6 while the disk or store is");
        var force = new Option<bool>("--force") { Description = "Replace an existing image of the same name" };
        var noSpaceCheck = new Option<bool>("--no-space-check") { Description = "Start even when the store's free space is below the worst-case image size" };
        var rescue = new Option<bool>("--rescue")
        {
            Description = "Go on past unreadable sectors: retried sector by sector, then recorded in the image's bad-range map and restored as zeros",
        };
        var forensic = new Option<bool>("--forensic")
        {
            Description = "Read every sector, keep the source read-only in the kernel, record SHA-256 and MD5 and a report beside the image",
        };
        var caseName = new Option<string?>("--case") { Description = "Forensic: the case name or number to record" };
        var examiner = new Option<string?>("--examiner") { Description = "Forensic: who made the capture" };
        var notes = new Option<string?>("--notes") { Description = "Forensic: notes to record with the capture" };
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Report progress as JSON lines on standard error" };
        var encrypt = new Option<bool>("--encrypt")
        {
            Description = $"Encrypt the image (AES-256-GCM) under a passphrase typed twice, or from --passphrase-file or ${PassphraseSource.Variable}",
        };
        var onBase = new Option<string?>("--base")
        {
            Description = "Capture incrementally: store only what changed since this earlier image of the same disk, in the same folder or store (its name, or its path there)",
        };
        var command = new Command("capture", "Capture a disk's used blocks into an image")
        {
            source, image, force, noSpaceCheck, rescue, forensic, caseName, examiner, notes, jsonProgress, encrypt, onBase,
        };
        command.Validators.Add(result =>
        {
            if (!result.GetValue(forensic) && (result.GetValue(caseName) ?? result.GetValue(examiner) ?? result.GetValue(notes)) is not null)
            {
                result.AddError("--case, --examiner and --notes go with --forensic");
            }
            if (result.GetValue(onBase) is { } earlier && earlier.Contains("://", StringComparison.Ordinal)
                && ImageChain.Sibling(result.GetValue(image) ?? string.Empty, Path.GetFileName(earlier)) != earlier)
            {
                result.AddError($"--base {earlier}: the base must be in the same folder of the same store as the new image (give its name)");
            }
        });
        imageOptions.AddTo(command);
        var store = new StoreCliOptions(hooks?.Environment);
        store.AddTo(command);
        var passphrase = new PassphraseCliOptions(hooks?.Environment);
        passphrase.AddTo(command);
        command.SetAction(parse =>
        {
            var options = new CaptureOptions(parse.GetRequiredValue(source), parse.GetRequiredValue(image),
                imageOptions.Level(parse) ?? CaptureOptions.DefaultLevel, imageOptions.SplitBytes(parse), parse.GetValue(force),
                !parse.GetValue(noSpaceCheck), parse.GetValue(rescue) ? new RescuePolicy() : null,
                parse.GetValue(forensic) ? new ForensicOptions(parse.GetValue(caseName), parse.GetValue(examiner), parse.GetValue(notes)) : null,
                Base: parse.GetValue(onBase) is { } earlier && earlier.Contains("://", StringComparison.Ordinal) ? Path.GetFileName(earlier) : parse.GetValue(onBase));
            Func<ImagePassphrase?> passphraseFor = () => parse.GetValue(encrypt) ? passphrase.ForNewImage(parse, parse.InvocationConfiguration.Error) : null;
            return Run(options, () => store.Build(parse, options.Source), passphraseFor, parse.GetValue(jsonProgress), parse.InvocationConfiguration.Error, hooks);
        });
        return command;
    }

    private static int Run(CaptureOptions options, Func<StoreOptions> storeOptions, Func<ImagePassphrase?> passphraseFor, bool jsonProgress,
        TextWriter error, JobHooks? hooks) =>
        CliErrors.Run("capture", error, () =>
    {
        DiskPath.Check(options.Source, DiskRole.Source);
        // Asked before any store is mounted or anything is read: a mistyped second entry costs nothing.
        using ImagePassphrase? passphrase = passphraseFor();
        using StoreImage target = StoreImage.Open(options.Image, storeOptions(), forWriting: true);
        if (target.ObjectStore is { } objects)
        {
            error.WriteLine($"capture: {objects.Location}: object store, uploading in parts as the capture goes");
        }
        else if (target.Path != "-")
        {
            string directory = Path.GetDirectoryName(Path.GetFullPath(target.Path))!;
            string hostKey = target.Store?.HostKey is { } key ? $", SSH host key {key}{(target.Store.HostKeyPinned ? " (pinned)" : "")}" : "";
            error.WriteLine($"capture: {target.Store?.Location.ToString() ?? directory}: {ByteSize.Format(StoreSpace.FreeBytes(directory))} free{hostKey}");
        }
        using var cancellation = new CliCancellation();
        var view = new ProgressView(error, jsonProgress, lines: hooks is not null);
        var job = new CaptureJob(options with { Image = target.Path, Passphrase = passphrase });
        job.Progress += view.Report;
        try
        {
            CaptureResult result = job.Run(cancellation.Token);
            view.Finish();
            double seconds = Math.Max(result.Elapsed.TotalSeconds, 0.001);
            error.WriteLine($"capture: {(target.Store is null ? result.Image : options.Image)}: {ByteSize.Format(result.DataBytes)} of data in {result.Frames} frames, " +
                $"image {ByteSize.Format(result.ImageBytes)}, {result.Elapsed.TotalSeconds:F1} s ({ByteSize.Format(result.DataBytes / seconds)}/s)");
            if (options.Base is not null)
            {
                error.WriteLine($"capture: incremental on {Path.GetFileName(options.Base)}: {ByteSize.Format(result.ReferencedBytes)} of " +
                    $"{ByteSize.Format(result.DataBytes)} unchanged and referenced, {ByteSize.Format(result.DataBytes - result.ReferencedBytes)} stored");
            }
            if (result.BadRanges is { Count: > 0 } bad)
            {
                error.WriteLine($"capture: {BadRangeReport.Summary(bad, b => ByteSize.Format(b))}; liveimager info names them and the files they touch");
            }
            if (result.Record?.Forensic is { } forensic)
            {
                error.WriteLine($"capture: source SHA-256 {forensic.Sha256}, MD5 {forensic.Md5}" +
                    (result.Image == "-" ? string.Empty : $"; report {ForensicReport.PathFor(result.Image)}"));
            }
            hooks?.Finish(new JobFigures(result.DataBytes, result.ImageBytes, result.DataBytes, result.Elapsed, options.Image, options.Source));
            return 0;
        }
        catch (OperationCanceledException)
        {
            view.Finish();
            error.WriteLine($"capture: cancelled; no image was kept ({options.Image} was not created), and {options.Source} was only read");
            return CliErrors.Cancelled;
        }
        finally
        {
            view.Finish();
        }
    }, hooks);
}
