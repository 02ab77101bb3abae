using System.CommandLine;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary><c>liveimager convert CZDIR OUT.lim [--level N] [--split SIZE] [--force] [--json-progress]</c>: a Clonezilla image directory into our
/// format, verified afterwards (docs/clonezilla.md).</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("clonezilla-image") { Description = "The Clonezilla image directory: a path or a store URL" };
        var image = new Argument<string>("image") { Description = "The image to write (NAME.lim); it is verified once written" };
        var force = new Option<bool>("--force") { Description = "Replace an existing image of that name" };
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Report progress as JSON lines on standard error" };
        var command = new Command("convert", "Convert a Clonezilla image directory into a LiveImager image") { source, image, force, jsonProgress };
        var imageOptions = new ImageWriteOptions($"{ConvertOptions.DefaultLevel}");
        imageOptions.AddTo(command);
        var store = new StoreCliOptions(null);
        store.AddTo(command);
        command.SetAction(parse => CliErrors.Run("convert", parse.InvocationConfiguration.Error, () =>
        {
            TextWriter error = parse.InvocationConfiguration.Error;
            using StoreImage input = StoreImage.Open(parse.GetRequiredValue(source), store.Build(parse, []), forWriting: false);
            if (!ClonezillaInput.IsClonezillaDirectory(input.Path))
            {
                error.WriteLine($"convert: {parse.GetRequiredValue(source)} is not a Clonezilla image directory (it has no \"disk\" or \"parts\" file)");
                return CliErrors.Usage;
            }
            using var cancellation = new CliCancellation();
            var view = new ProgressView(error, parse.GetValue(jsonProgress), lines: false);
            var job = new ClonezillaConvertJob(new ConvertOptions(input.Path, parse.GetRequiredValue(image), parse.GetValue(force),
                imageOptions.Level(parse) ?? ConvertOptions.DefaultLevel, imageOptions.SplitBytes(parse)));
            job.Progress += view.Report;
            ConvertResult result;
            try
            {
                result = job.Run(cancellation.Token);
            }
            finally
            {
                view.Finish();
            }
            parse.InvocationConfiguration.Output.WriteLine(
                $"convert: {result.Image}: {ByteSize.Format(result.DataBytes)} of disk data in {ByteSize.Format(result.ImageBytes)}, " +
                $"{result.Elapsed.TotalSeconds:F1} s; verified: {result.Verified.Frames} data frames intact");
            return 0;
        }, null));
        return command;
    }
}
