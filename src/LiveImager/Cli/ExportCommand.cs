using System.CommandLine;
using LiveImager.Engine.Opening;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary><c>liveimager export IMAGE OUT [--format raw|qcow2|vmdk|vhdx] [--json-progress]</c>: the image's disk as a
/// disk file a VM or another tool opens.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "The image (its first volume when split): a path or a store URL" };
        var output = new Argument<string>("out") { Description = "The disk file to write; it must not exist" };
        var format = new Option<string>("--format")
        {
            Description = "raw (a sparse file), qcow2, vmdk or vhdx (written by qemu-img)",
            DefaultValueFactory = _ => "raw",
        };
        format.AcceptOnlyFromAmong("raw", "qcow2", "vmdk", "vhdx");
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Report progress as JSON lines on standard error" };
        var command = new Command("export", "Write an image's disk to a raw, qcow2, VMDK or VHDX file without restoring it")
        {
            image, output, format, jsonProgress,
        };
        var store = new StoreCliOptions();
        store.AddTo(command);
        var passphrase = new PassphraseCliOptions();
        passphrase.AddTo(command);
        command.SetAction(parse => Run(parse.GetRequiredValue(image), parse.GetRequiredValue(output), parse.GetValue(format) ?? "raw",
            parse.GetValue(jsonProgress), () => store.Build(parse), path => passphrase.ForReading(parse, path, parse.InvocationConfiguration.Error),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string argument, string output, string format, bool jsonProgress, Func<StoreOptions> storeOptions,
        Func<string, LiveImager.Formats.ImageFormat.ImagePassphrase?> passphraseFor, TextWriter standardOutput, TextWriter error) => CliErrors.Run("export", error, () =>
    {
        ExportFormat chosen = format switch
        {
            "qcow2" => ExportFormat.Qcow2,
            "vmdk" => ExportFormat.Vmdk,
            "vhdx" => ExportFormat.Vhdx,
            _ => ExportFormat.Raw,
        };
        using StoreImage source = StoreImage.Open(argument, storeOptions(), forWriting: false);
        using LiveImager.Formats.ImageFormat.ImagePassphrase? passphrase = passphraseFor(source.Path);
        using var cancellation = new CliCancellation();
        var view = new ProgressView(error, jsonProgress);
        var job = new ExportJob(new ExportOptions(source.Path, output, chosen, passphrase));
        job.Progress += view.Report;
        ExportResult result;
        try
        {
            result = job.Run(cancellation.Token);
        }
        finally
        {
            view.Finish();
        }
        standardOutput.WriteLine($"export: {output}: {format}, disk of {ByteSize.Format(result.DiskBytes)} ({ByteSize.Format(result.DataBytes)} of data in the image), " +
            $"file takes {ByteSize.Format(result.AllocatedBytes)}, {result.Elapsed.TotalSeconds:F1} s");
        return 0;
    });
}
