using System.CommandLine;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary><c>liveimager consolidate INCREMENTAL.lim FULL.lim [--split SIZE] [--force] [--json-progress]</c>: a standalone
/// full image of the disk an incremental image describes, so its bases can be retired (docs/incremental.md).</summary>
internal static class ConsolidateCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "The incremental image: a path or a store URL; its bases are found beside it" };
        var output = new Argument<string>("output") { Description = "The full image to write (NAME.lim) in the same store; it is verified once written" };
        var force = new Option<bool>("--force") { Description = "Replace an existing image of that name (never one another image is based on)" };
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Report progress as JSON lines on standard error" };
        var command = new Command("consolidate", "Write a full image from an incremental image and its bases, so the bases can be retired")
        {
            image, output, force, jsonProgress,
        };
        var imageOptions = new ImageWriteOptions(levelDescription: null);
        imageOptions.AddTo(command);
        var store = new StoreCliOptions(null);
        store.AddTo(command);
        command.SetAction(parse => CliErrors.Run("consolidate", parse.InvocationConfiguration.Error, () =>
        {
            TextWriter error = parse.InvocationConfiguration.Error;
            using StoreImage input = StoreImage.Open(parse.GetRequiredValue(image), store.Build(parse, []), forWriting: false);
            // The output goes beside the input unless a path says otherwise: a name alone is taken in the image's folder.
            string outputArgument = parse.GetRequiredValue(output);
            string outputPath = outputArgument.Contains('/') ? outputArgument : ImageChain.Sibling(input.Path, outputArgument);
            using var cancellation = new CliCancellation();
            var view = new ProgressView(error, parse.GetValue(jsonProgress), lines: false);
            var job = new ConsolidateJob(new ConsolidateOptions(input.Path, outputPath, parse.GetValue(force), imageOptions.SplitBytes(parse)));
            job.Progress += view.Report;
            ConsolidateResult result;
            try
            {
                result = job.Run(cancellation.Token);
            }
            finally
            {
                view.Finish();
            }
            parse.InvocationConfiguration.Output.WriteLine(
                $"consolidate: {result.Image}: {ByteSize.Format(result.DataBytes)} of disk data ({ByteSize.Format(result.FromBases)} from " +
                $"{result.Links} base image(s)) in {ByteSize.Format(result.ImageBytes)}, {result.Elapsed.TotalSeconds:F1} s; " +
                $"verified: {result.Verified.Frames} data frames intact. It stands alone: the bases are no longer needed for it");
            return 0;
        }, null));
        return command;
    }
}
