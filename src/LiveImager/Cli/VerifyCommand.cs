using System.CommandLine;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Cli;

/// <summary><c>liveimager verify IMAGE [--against DEVICE] [--json-progress]</c>.</summary>
internal static class VerifyCommand
{
    /// <param name="hooks">Set when an unattended run invokes the verb.</param>
    public static Command Create(JobHooks? hooks = null)
    {
        var image = new Argument<string>("image") { Description = "The image to check: a path, a store URL, or - for standard input" };
        var against = new Option<string?>("--against") { Description = "Also compare the used bytes with this disk or file" };
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Report progress as JSON lines on standard error" };
        var command = new Command("verify", "Check every frame's checksum and the image's structure") { image, against, jsonProgress };
        var store = new StoreCliOptions(hooks?.Environment);
        store.AddTo(command);
        var passphrase = new PassphraseCliOptions(hooks?.Environment);
        passphrase.AddTo(command);
        command.SetAction(parse => Run(new VerifyOptions(parse.GetRequiredValue(image), parse.GetValue(against)),
            () => store.Build(parse, parse.GetValue(against) is { } disk ? [disk] : []),
            path => passphrase.ForReading(parse, path, parse.InvocationConfiguration.Error, optional: true), parse.GetValue(jsonProgress),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, hooks));
        return command;
    }

    private static int Run(VerifyOptions options, Func<StoreOptions> storeOptions, Func<string, ImagePassphrase?> passphraseFor, bool jsonProgress,
        TextWriter output, TextWriter error, JobHooks? hooks) =>
        CliErrors.Run("verify", error, () =>
    {
        if (options.Against is { } disk)
        {
            DiskPath.Check(disk, DiskRole.Comparison);
        }
        using StoreImage source = StoreImage.Open(options.Image, storeOptions(), forWriting: false);
        using var cancellation = new CliCancellation();
        using ImagePassphrase? passphrase = passphraseFor(source.Path);
        if (passphrase is null && options.Against is null && source.Path != "-" && ImageCatalog.IsEncrypted(source.Path))
        {
            SealedStructure structure = VerifyJob.CheckStructure(source.Path, null, cancellation.Token);
            output.WriteLine($"verify: {options.Image}: structure ok: {structure.Frames} sealed frames and the footer; the image is encrypted and " +
                "its contents were NOT checked (give its passphrase to check them)");
            hooks?.Finish(new JobFigures(JobHooks.StoredBytes(source.Path), 0, 0, TimeSpan.Zero, options.Image, null));
            return 0;
        }
        var view = new ProgressView(error, jsonProgress, lines: hooks is not null);
        var job = new VerifyJob(options with { Image = source.Path, Passphrase = passphrase });
        job.Progress += view.Report;
        VerifyResult result;
        try
        {
            result = job.Run(cancellation.Token);
        }
        finally
        {
            view.Finish();
        }
        output.WriteLine($"verify: {options.Image}: ok: {result.Frames} data frames, {ByteSize.Format(result.DataBytes)} checked, structure and footer intact");
        if (result.SourceSha256 is { } sha256)
        {
            output.WriteLine($"verify: {options.Image}: the source's recorded SHA-256 {sha256} and MD5 {result.Record!.Forensic!.Md5} match the image's data");
        }
        if (result.BadRanges is { Count: > 0 } bad)
        {
            output.WriteLine($"verify: {options.Image}: {BadRangeReport.Summary(bad, b => ByteSize.Format(b))}:");
            foreach (string line in BadRangeReport.Lines(result.Metadata, bad))
            {
                output.WriteLine($"  unreadable: {line}");
            }
        }
        if (options.Against is not null)
        {
            output.WriteLine($"verify: {options.Against} matches the image in all {ByteSize.Format(result.BytesCompared)} of used bytes");
        }
        hooks?.Finish(new JobFigures(JobHooks.StoredBytes(source.Path), 0, result.DataBytes, result.Elapsed, options.Image, options.Against));
        return 0;
    }, hooks);
}
