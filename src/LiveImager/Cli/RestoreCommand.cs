using System.CommandLine;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Multicast;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats;

namespace LiveImager.Cli;

/// <summary><c>liveimager restore IMAGE TARGET... [--yes] [--discard|--zero-unused] [--verify-first] [--json-progress]</c>, or onto a
/// smaller disk with <c>--fit</c> (<see cref="RestoreFit"/>); with several
/// targets, each one's progress and result are shown, and one that fails is dropped while the others go on.</summary>
internal static class RestoreCommand
{
    /// <param name="hooks">Set when an unattended run invokes the verb.</param>
    public static Command Create(JobHooks? hooks = null)
    {
        var image = new Argument<string>("image") { Description = "The image to restore: a path, a store URL (ssh://user@host/dir/name.lim), - for standard input, or multicast://[IF][:PORTBASE] to receive it from `liveimager multicast`" };
        var targets = new Argument<string[]>("target")
        {
            Description = "Disks (/dev/sdc) or files to overwrite; several are written from one read of the image",
            Arity = ArgumentArity.OneOrMore,
        };
        var yes = new Option<bool>("--yes") { Description = "Do not ask for each target's name (for scripts)" };
        var discard = new Option<bool>("--discard") { Description = "Discard (TRIM) the whole target before writing" };
        var zeroUnused = new Option<bool>("--zero-unused") { Description = "Write zeros where the image holds no data" };
        var jsonProgress = new Option<bool>("--json-progress") { Description = "Report progress as JSON lines on standard error" };
        var verifyFirst = new Option<bool>("--verify-first")
        {
            Description = "Read and check every frame of the image before writing anything (a file or store, not standard input)",
        };
        var fit = new Option<bool>("--fit")
        {
            Description = "Onto a smaller disk: shrink the partitions that can shrink to fit it (docs/restore-fit.md)",
        };
        var overlayDirectory = new Option<string?>("--overlay-dir")
        {
            Description = "With --fit, where the resize tools' writes are kept while they run (default /var/tmp)",
        };
        var layout = new Option<string?>("--layout")
        {
            Description = "With --fit, sizes for some partitions by number (2=60G,3=100GB); the others are planned around them",
        };
        var command = new Command("restore", "Restore an image onto one or more disks or files")
        {
            image, targets, yes, discard, zeroUnused, verifyFirst, jsonProgress, fit, overlayDirectory, layout,
        };
        var store = new StoreCliOptions(hooks?.Environment);
        store.AddTo(command);
        var passphrase = new PassphraseCliOptions(hooks?.Environment);
        passphrase.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(discard) && result.GetValue(zeroUnused))
            {
                result.AddError("--discard and --zero-unused exclude each other");
            }
            if (result.GetValue(fit) && (result.GetValue(discard) || result.GetValue(zeroUnused) || result.GetValue(verifyFirst)))
            {
                result.AddError("--fit writes only the used blocks it copies; it takes no --discard, --zero-unused or --verify-first");
            }
            if (!result.GetValue(fit) && (result.GetValue(overlayDirectory) is not null || result.GetValue(layout) is not null))
            {
                result.AddError("--overlay-dir and --layout are for --fit");
            }
        });
        command.SetAction(parse =>
        {
            if (parse.GetValue(fit))
            {
                return RestoreFit.Run(parse.GetRequiredValue(image), parse.GetRequiredValue(targets), parse.GetValue(overlayDirectory), parse.GetValue(layout),
                    () => store.Build(parse, [.. parse.GetRequiredValue(targets)]), MountCommand.StoreArguments(parse), parse.GetValue(yes),
                    parse.GetValue(jsonProgress), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, hooks);
            }
            var options = new RestoreOptions(parse.GetRequiredValue(image), parse.GetRequiredValue(targets), parse.GetValue(discard), parse.GetValue(zeroUnused),
                parse.GetValue(verifyFirst));
            return Run(options, () => store.Build(parse, [.. options.Targets]), path => passphrase.ForReading(parse, path, parse.InvocationConfiguration.Error),
                parse.GetValue(yes), parse.GetValue(jsonProgress),
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, hooks);
        });
        return command;
    }

    private static int Run(RestoreOptions options, Func<StoreOptions> storeOptions, Func<string, ImagePassphrase?> passphraseFor, bool yes, bool jsonProgress, TextWriter output, TextWriter error,
        JobHooks? hooks) =>
        CliErrors.Run("restore", error, () =>
    {
        // Before the question and before any store is mounted: a mistyped disk name is not something to confirm.
        DiskPath.CheckAll(options.Targets, DiskRole.RestoreTarget);
        if (!yes && Confirm(options, output, error) is int refused)
        {
            return refused;
        }
        MulticastAddress? multicast = MulticastAddress.IsUrl(options.Image) ? MulticastAddress.Parse(options.Image) : null;
        using StoreImage? source = multicast is null ? StoreImage.Open(options.Image, storeOptions(), forWriting: false) : null;
        using ImagePassphrase? passphrase = passphraseFor(source?.Path ?? "-");
        using MulticastReceiver? receiver = multicast is null ? null : MulticastReceiver.Start(multicast);
        using var cancellation = new CliCancellation();
        // A read waiting for the sender does not see the token; ending the stream does.
        using CancellationTokenRegistration stopReceiving = receiver is null ? default : cancellation.Token.Register(receiver.Cancel);
        var view = new ProgressView(error, jsonProgress, lines: hooks is not null);
        RestoreResult result;
        try
        {
            result = RunJob(options with { Image = source?.Path ?? options.Image, Passphrase = passphrase }, view, receiver, cancellation.Token);
        }
        catch (Exception e) when (receiver is not null && e is ImagingException or DiskFormatException)
        {
            throw receiver.Failure(e, options.Targets);
        }
        finally
        {
            view.Finish();
        }
        foreach (RestoreTargetResult target in result.Targets)
        {
            error.WriteLine($"restore: {target.Target}: {(target.Succeeded ? "ok" : "FAILED")}: {target.Message}");
        }
        if (result.BadRanges is { Count: > 0 } bad)
        {
            error.WriteLine($"restore: {BadRangeReport.Summary(bad, b => ByteSize.Format(b))}, written as zeros on every target " +
                "(liveimager info IMAGE names them)");
        }
        int failed = result.Targets.Count(t => !t.Succeeded);
        if (result.Targets.Count > 1 && !result.Cancelled)
        {
            error.WriteLine($"restore: {result.Targets.Count - failed} of {result.Targets.Count} targets restored" +
                (failed > 0 ? $", {failed} FAILED" : string.Empty));
        }
        if (result.Cancelled)
        {
            error.WriteLine("restore: cancelled");
            return CliErrors.Cancelled;
        }
        double seconds = Math.Max(result.Elapsed.TotalSeconds, 0.001);
        error.WriteLine($"restore: {ByteSize.Format(result.DataBytes)} in {result.Elapsed.TotalSeconds:F1} s ({ByteSize.Format(result.DataBytes / seconds)}/s)");
        if (hooks is not null)
        {
            hooks.Finish(new JobFigures(JobHooks.StoredBytes(source?.Path ?? "-"), result.Targets.Sum(target => target.BytesWritten), result.DataBytes,
                result.Elapsed, options.Image, string.Join(" ", options.Targets)));
            if (!result.Succeeded)
            {
                hooks.Fail(string.Join("; ", result.Targets.Where(target => !target.Succeeded).Select(target => $"{target.Target}: {target.Message}")));
            }
        }
        return result.Succeeded ? 0 : CliErrors.Failed;
    }, hooks);

    /// <summary>Our image, or a Clonezilla image directory (docs/clonezilla.md), restored with the same targets and checks.</summary>
    private static RestoreResult RunJob(RestoreOptions options, ProgressView view, MulticastReceiver? receiver, CancellationToken cancellationToken)
    {
        if (!ImageInput.IsStream(options.Image) && ClonezillaInput.IsClonezillaDirectory(options.Image))
        {
            var clonezilla = new ClonezillaRestoreJob(options);
            clonezilla.Progress += view.Report;
            return clonezilla.Run(cancellationToken);
        }
        var job = new RestoreJob(options, receiver is null ? null : () => receiver);
        job.Progress += view.Report;
        return job.Run(cancellationToken);
    }

    /// <summary>On a terminal, asks the user to type each target's name; elsewhere refuses without --yes. Returns the
    /// exit code of a refusal, or null when every target was confirmed.</summary>
    private static int? Confirm(RestoreOptions options, TextWriter output, TextWriter error)
    {
        if (Console.IsInputRedirected || options.Image == "-")
        {
            error.WriteLine("restore: overwriting a disk needs confirmation and there is no terminal to ask on; pass --yes");
            return CliErrors.Usage;
        }
        foreach (string target in options.Targets)
        {
            output.Write($"Everything on {target} will be overwritten by {options.Image}. Type {target} to continue: ");
            string? answer = Console.ReadLine()?.Trim();
            if (answer != target)
            {
                error.WriteLine($"restore: {target} was not confirmed; nothing was written");
                return CliErrors.Failed;
            }
        }
        return null;
    }
}
