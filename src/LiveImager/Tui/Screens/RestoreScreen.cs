using System.Globalization;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>The restore wizard: store, image, target disk, summary, typed confirmation, start. Esc steps back.</summary>
internal sealed class RestoreScreen : ImageWizardScreen
{
    private DiskChoice? _target;

    public RestoreScreen(TuiServices services)
        : base("Restore", services)
    {
        UseSteps([StoreStep, () => ImageStep("restore"), TargetStep, SummaryStep, ConfirmStep]);
    }

    public override string HelpText =>
        "Restore writes an image onto a disk and erases everything on that disk. Steps: the directory with the images, " +
        "the image, the target disk (one too small, in use, or the stick itself cannot be chosen), a summary, then you " +
        "type the target's name (for example sdb) to confirm. Nothing is written before that. Esc goes back one step.";

    /// <summary>Why a disk cannot take the image, with the numbers; null when it fits.</summary>
    public static string? TooSmall(DiskChoice disk, ImageSummary image) =>
        disk.SizeBytes >= image.RequiredBytes
            ? null
            : $"too small.\nIt holds    {ByteSize.Exact(disk.SizeBytes)};\nthe image needs {ByteSize.Exact(image.RequiredBytes)}";

    private WizardPage TargetStep()
    {
        ImageSummary image = Image;
        var view = new WizardPage($"Step 3 of 5: the disk to overwrite (needs {ByteSize.Format(image.RequiredBytes)})");
        var picker = new DiskPicker(Host.RunningApp, Services.Disks, disk => TooSmall(disk, image)) { Y = 2 };
        picker.Chosen += disk =>
        {
            _target = disk;
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
            $"EVERYTHING ON {target.Name} WILL BE ERASED ({Partitions(target.Partitions.Count)} now).", Steps);
    }

    private WizardPage ConfirmStep()
    {
        (ImageSummary image, DiskChoice target) = Chosen();
        var view = new WizardPage("Step 5 of 5: confirm");
        var prompt = new TextBlock { X = 0, Y = 2, Text = $"Type the target's name, {target.Name}, and press Enter to erase it and restore:" };
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
            var request = new RestoreRequest(image, [target], Passphrase);
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
