using System.CommandLine;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.Partitions;

namespace LiveImager.Cli;

/// <summary><c>liveimager restore IMAGE TARGET --fit</c> (docs/restore-fit.md): the plan with before/after sizes, the
/// confirmation, then <see cref="FitRestoreJob"/>.</summary>
internal static class RestoreFit
{
    public static int Run(string image, IReadOnlyList<string> targets, string? overlayDirectory, string? layoutText, Func<StoreOptions> storeOptions,
        IReadOnlyList<string> storeArguments, bool yes, bool jsonProgress, TextWriter output, TextWriter error, JobHooks? hooks = null) =>
        CliErrors.Run("restore", error, () =>
    {
        if (targets.Count != 1 || image == "-")
        {
            error.WriteLine("restore: --fit takes one image file or store URL (not standard input) and one target");
            return CliErrors.Usage;
        }
        string target = targets[0];
        Dictionary<int, long>? layout = null;
        if (layoutText is not null && ParseLayout(layoutText, out layout) is { } problem)
        {
            error.WriteLine($"restore: --layout {layoutText}: {problem}");
            return CliErrors.Usage;
        }
        DiskPath.Check(target, DiskRole.RestoreTarget);
        string overlay = Path.GetFullPath(overlayDirectory ?? FitRestoreJob.DefaultOverlayDirectory);
        if (!Directory.Exists(overlay))
        {
            error.WriteLine($"restore: --overlay-dir {overlay} does not exist");
            return CliErrors.Usage;
        }
        using StoreImage source = StoreImage.Open(image, storeOptions(), forWriting: false);
        string served = source.Store is null ? Path.GetFullPath(source.Path) : image;
        string program = Environment.ProcessPath ?? throw new ImagingException("cannot tell where the liveimager binary is, to start its server");
        // Ctrl-C ends the process as usual until the plan is confirmed: nothing is open that needs undoing.
        using FitRestoreJob job = FitRestoreJob.Open(source.Path, target, layout, CancellationToken.None);
        WritePlan(job, image, output);
        if (job.Plan.Refusal is { } refusal)
        {
            string message = $"{FitPlanText.Describe(refusal)}; nothing was written";
            error.WriteLine($"restore: {message}");
            hooks?.Fail(message);
            return CliErrors.Failed;
        }
        if (!yes && Confirm(target, image, output, error) is int refused)
        {
            return refused;
        }
        using var cancellation = new CliCancellation();
        var view = new ProgressView(error, jsonProgress, lines: hooks is not null);
        job.Progress += view.Report;
        FitRestoreResult result;
        try
        {
            result = job.Run(socket => [program, "serve", served, "--socket", socket, .. storeArguments], overlay, cancellation.Token);
        }
        finally
        {
            view.Finish();
        }
        error.WriteLine($"restore: overlay held {ByteSize.Exact(result.OverlayBytes)} of the resize tools' writes in {overlay}, now removed");
        if (result.Cancelled)
        {
            error.WriteLine($"restore: cancelled; {target} is partly written and does not hold a usable disk");
            hooks?.Fail("cancelled");
            return CliErrors.Cancelled;
        }
        hooks?.Finish(new JobFigures(JobHooks.StoredBytes(source.Path), result.DataBytes, result.DataBytes, result.Elapsed, image, target));
        error.WriteLine($"restore: {target}: ok: {ByteSize.Format(result.DataBytes)} in {result.Elapsed.TotalSeconds:F1} s " +
            $"(shrinking {result.ShrinkTime.TotalSeconds:F1} s)");
        return 0;
    }, hooks);

    private static void WritePlan(FitRestoreJob job, string image, TextWriter output)
    {
        output.WriteLine($"restore --fit: {image} onto {job.Target} ({ByteSize.Exact(job.TargetBytes)}):");
        foreach (FitPlacement p in job.Plan.Placements)
        {
            output.WriteLine($"  {FitPlanText.Line(p, why: true)}");
        }
    }

    private static int? Confirm(string target, string image, TextWriter output, TextWriter error)
    {
        if (Console.IsInputRedirected)
        {
            error.WriteLine("restore: overwriting a disk needs confirmation and there is no terminal to ask on; pass --yes");
            return CliErrors.Usage;
        }
        output.Write($"Everything on {target} will be overwritten by {image} with the layout above. Type {target} to continue: ");
        if (Console.ReadLine()?.Trim() != target)
        {
            error.WriteLine($"restore: {target} was not confirmed; nothing was written");
            return CliErrors.Failed;
        }
        return null;
    }

    /// <summary>Reads <c>--layout 2=60G,3=100GB</c>: sizes by partition number, as <see cref="ByteSize"/> reads sizes.
    /// Returns the problem, or null.</summary>
    internal static string? ParseLayout(string text, out Dictionary<int, long> layout)
    {
        layout = [];
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = item.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
                out int number) || number < 1 || number > Formats.ImageFormat.ImageMetadata.MaxPartitions)
            {
                return $"'{item}' is not NUMBER=SIZE (a partition number, e.g. 2=60G)";
            }
            if (!ByteSize.TryParse(parts[1], out long bytes) || bytes <= 0)
            {
                return $"'{parts[1]}' is not a size (e.g. 60G, 500MB)";
            }
            if (!layout.TryAdd(number, bytes))
            {
                return $"partition {number} is given twice";
            }
        }
        return layout.Count == 0 ? "no NUMBER=SIZE given" : null;
    }
}
