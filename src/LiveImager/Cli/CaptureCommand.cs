using System.CommandLine;
using LiveImager.Engine.Imaging;

namespace LiveImager.Cli;

/// <summary><c>liveimager capture SOURCE IMAGE [--level N] [--split SIZE] [--force] [--json-progress]</c>.</summary>
internal static class CaptureCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "The disk to capture (/dev/sdb) or a disk image file" };
        var image = new Argument<string>("image") { Description = "The image to write, or - for standard output" };
        var level = new Option<int>("--level")
        {
            Description = $"zstd level 1..19 (default {CaptureOptions.DefaultLevel}: fastest here for a near-equal size)",
            DefaultValueFactory = _ => CaptureOptions.DefaultLevel,
        };
        level.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 19)
            {
                result.AddError("--level must be 1..19");
            }
        });
        var split = new Option<string?>("--split") { Description = "Cut the image into volumes of this size (4G for FAT32): IMAGE, IMAGE.002, …" };
        split.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && !(ByteSize.TryParse(text, out long bytes) && bytes >= 1L << 20))
            {
                result.AddError($"--split {text}: give a size of at least 1M, such as 4G or 650M");
            }
        });
        var force = new Option<bool>("--force") { Description = "Replace an existing image of the same name" };
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Report progress as JSON lines on standard error" };
        var command = new Command("capture", "Capture a disk's used blocks into an image") { source, image, level, split, force, jsonProgress };
        command.SetAction(parse =>
        {
            long splitBytes = parse.GetValue(split) is { } text && ByteSize.TryParse(text, out long bytes) ? bytes : 0;
            var options = new CaptureOptions(parse.GetRequiredValue(source), parse.GetRequiredValue(image), parse.GetValue(level),
                splitBytes, parse.GetValue(force));
            return Run(options, parse.GetValue(jsonProgress), parse.InvocationConfiguration.Error);
        });
        return command;
    }

    private static int Run(CaptureOptions options, bool jsonProgress, TextWriter error) => CliErrors.Run("capture", error, () =>
    {
        using var cancellation = new CliCancellation();
        var view = new ProgressView(error, jsonProgress);
        var job = new CaptureJob(options);
        job.Progress += view.Report;
        try
        {
            CaptureResult result = job.Run(cancellation.Token);
            view.Finish();
            double seconds = Math.Max(result.Elapsed.TotalSeconds, 0.001);
            error.WriteLine($"capture: {result.Image}: {ByteSize.Format(result.DataBytes)} of data in {result.Frames} frames, " +
                $"image {ByteSize.Format(result.ImageBytes)}, {result.Elapsed.TotalSeconds:F1} s ({ByteSize.Format(result.DataBytes / seconds)}/s)");
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
    });
}
