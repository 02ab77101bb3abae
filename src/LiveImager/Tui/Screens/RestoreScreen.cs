using System.Globalization;
using LiveImager.Formats.Partitions;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>The restore wizard: store, image, target disk, summary, typed confirmation, start. Esc steps back.</summary>
internal sealed class RestoreScreen : ImageWizardScreen
{
    private DiskChoice? _target;

    /// <summary>The layout on the chosen target when it is smaller than the image needs but the data fits, else null.</summary>
    private FitPlan? _fit;

    public RestoreScreen(TuiServices services)
        : base("Restore", services)
    {
        UseSteps([StoreStep, () => ImageStep("restore"), TargetStep, SummaryStep, ConfirmStep]);
    }

    public override string HelpText =>
        "Restore writes an image onto a disk and erases everything on that disk. Steps: the directory with the images, " +
        "the image, the target disk (one in use or the stick itself cannot be chosen), a summary, then you type the " +
        "target's name (for example sdb) to confirm. Nothing is written before that. Esc goes back one step. A disk " +
        "smaller than the image needs can be chosen when the data fits it: the summary shows how each partition shrinks " +
        "(docs/restore-fit.md); when even the data does not fit, the disk is refused with the numbers.";

    /// <summary>Why a disk cannot take the image, with the numbers; null when it fits.</summary>
    public static string? TooSmall(DiskChoice disk, ImageSummary image) =>
        disk.SizeBytes >= image.RequiredBytes
            ? null
            : $"too small.\nIt holds    {ByteSize.Exact(disk.SizeBytes)};\nthe image needs {ByteSize.Exact(image.RequiredBytes)}";

    /// <summary>The layout of <paramref name="image"/> on a disk smaller than it needs, or null when the disk is large
    /// enough or the image cannot be laid out again (no partition table, Clonezilla, encrypted).</summary>
    public static FitPlan? FitPlan(DiskChoice disk, ImageSummary image) =>
        disk.SizeBytes < image.RequiredBytes && image.Fit is { } fit ? FitPlanner.Plan(fit.Partitions, fit.Table, disk.SizeBytes) : null;

    /// <summary>Why a disk cannot take the image, with the numbers; null when it is large enough, or smaller but the
    /// image's data fits once its partitions shrink.</summary>
    public static string? TargetRefusal(DiskChoice disk, ImageSummary image) => FitPlan(disk, image) switch
    {
        null => TooSmall(disk, image),
        { Refusal: null } => null,
        { Refusal: { } refusal } => "too small, and its data does not fit it either:\n" + (refusal.Number == 0
            ? $"{refusal.Why}:\n{ByteSize.Format(refusal.NeededBytes)} needed, the disk leaves room for {ByteSize.Format(refusal.RoomBytes)}"
            : $"partition {refusal.Number} ({refusal.Filesystem}) holds {ByteSize.Format(refusal.HeldBytes)}, " +
              $"{ByteSize.Format(refusal.NeededBytes)} with the margin;\nthe disk leaves room for {ByteSize.Format(refusal.RoomBytes)}"),
    };

    private WizardPage TargetStep()
    {
        ImageSummary image = Image;
        var view = new WizardPage($"Step 3 of 5: the disk to overwrite (needs {ByteSize.Format(image.RequiredBytes)})");
        var picker = new DiskPicker(Host.RunningApp, Services.Disks, disk => TargetRefusal(disk, image)) { Y = 2 };
        picker.Chosen += disk =>
        {
            _target = disk;
            _fit = FitPlan(disk, image);
            Steps.Next();
        };
        view.Add(picker);
        view.Shown = picker.Refresh;
        return view;
    }

    private WizardPage SummaryStep()
    {
        (ImageSummary image, DiskChoice target) = Chosen();
        return WizardPage.Summary("Step 4 of 5: summary",
            $"Read image  {image.Path}\n" +
            $"            from {image.SourceModel}, serial {image.SourceSerial}, taken {image.Created.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}\n" +
            $"Write disk  {target.Name} ({target.Model}, serial {target.Serial}, {ByteSize.Format(target.SizeBytes)})\n\n" +
            FitSummary(target) +
            $"EVERYTHING ON {target.Name} WILL BE ERASED ({Partitions(target.Partitions.Count)} now).", Steps);
    }

    /// <summary>For a target smaller than the image needs: that it is, and each partition's size before and after.</summary>
    private string FitSummary(DiskChoice target) => _fit is not { Fits: true } plan ? "" :
        $"{target.Name} is smaller than the image needs ({ByteSize.Format(Image.RequiredBytes)}) but the data fits:\n" +
        "a fit restore shrinks them with their own tools; the image stays as it is:\n" +
        string.Concat(plan.Placements.Select(p => $"  {FitPlanText.Line(p, why: false)}\n")) + "\n";

    private WizardPage ConfirmStep()
    {
        (ImageSummary image, DiskChoice target) = Chosen();
        var view = new WizardPage("Step 5 of 5: confirm");
        string what = _fit is null ? "erase it and restore" : "fit the image onto it";
        var prompt = new TextBlock { X = 0, Y = 2, Text = $"Type the target's name, {target.Name}, and press Enter to {what}:" };
        var field = new TextField { X = 0, Y = 3, Width = 20 };
        var status = new TextBlock { X = 0, Y = 5, Width = Dim.Fill(), Height = 2 };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            string typed = field.Text.Trim();
            if (typed != target.Name)
            {
                status.Text = $"'{typed}' is not {target.Name}; nothing was written.";
                return;
            }
            if (Services.Jobs is not IJobRunner jobs)
            {
                status.Text = $"Restoring is {TuiServices.NotAvailable}.";
                return;
            }
            var request = new RestoreRequest(image, [target], Passphrase, Fit: _fit is not null);
            Host.Push(new ProgressScreen(Services, "restore", $"Restoring {image.Name} onto {target.Name}",
                (progress, token) => jobs.RestoreAsync(request, progress, token)));
        };
        view.Add(prompt, field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private (ImageSummary Image, DiskChoice Target) Chosen() =>
        (Image, _target ?? throw new InvalidOperationException("No target was chosen."));

    /// <summary>"1 partition" or "N partitions", as the summaries say it.</summary>
    internal static string Partitions(int count) => count == 1 ? "1 partition" : $"{count} partitions";
}
