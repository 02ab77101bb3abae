using System.Globalization;
using LiveImager.Tui.Views;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>The deploy wizard: store, image, several target disks, summary, typed confirmation, then one restore job
/// that reads the image once and writes every target; Esc steps back.</summary>
internal sealed class DeployScreen : ImageWizardScreen
{
    private IReadOnlyList<DiskChoice> _targets = [];
    private DiskPicker? _picker;

    public DeployScreen(TuiServices services)
        : base("Deploy", services)
    {
        UseSteps([StoreStep, () => ImageStep("deploy"), TargetStep, SummaryStep, ConfirmStep]);
    }

    public override string HelpText =>
        "Deploy writes one image onto several disks at once: the image is read once and every disk is written from that " +
        "read, and erased first. Steps: the directory with the images, the image, the target disks (Space marks or " +
        "unmarks a disk; one too small, in use, or the stick itself cannot be marked), a summary, then you type the names " +
        "of all the marked disks to confirm. Nothing is written before that. Each disk gets its own result at the end. " +
        "Esc goes back one step.";

    public override bool OnScreenKey(Key key)
    {
        // Space marks a disk on the target step; the list itself would only move the cursor.
        if (key == Key.Space && Steps.Current == 2 && _picker is not null)
        {
            _picker.ToggleMark();
            return true;
        }
        return false;
    }

    /// <summary>True when <paramref name="typed"/> names every target once and nothing else, in any order.</summary>
    public static bool NamesAll(string typed, IReadOnlyList<DiskChoice> targets)
    {
        string[] names = typed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return names.Length == targets.Count && names.Order(StringComparer.Ordinal).SequenceEqual(targets.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    private WizardPage TargetStep()
    {
        ImageSummary image = Image;
        var view = new WizardPage($"Step 3 of 5: the disks to overwrite (Space marks; each needs {ByteSize.Format(image.RequiredBytes)})");
        var picker = new DiskPicker(Host.RunningApp, Services.Disks, disk => RestoreScreen.TooSmall(disk, image), several: true) { Y = 2 };
        picker.ChosenSeveral += disks =>
        {
            _targets = disks;
            Steps.Next();
        };
        _picker = picker;
        view.Add(picker);
        view.Shown = picker.Refresh;
        return view;
    }

    private WizardPage SummaryStep()
    {
        ImageSummary image = Image;
        var lines = new List<string>
        {
            $"Read image  {image.Path}",
            $"            from {image.SourceModel}, serial {image.SourceSerial}, taken {image.Created.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}",
            $"Write {Disks(_targets.Count)}, each from the same read:",
        };
        lines.AddRange(_targets.Select(t =>
            $"  {t.Name,-8} {t.Model}, serial {t.Serial}, {ByteSize.Format(t.SizeBytes)}, {RestoreScreen.Partitions(t.Partitions.Count)} now"));
        lines.Add("");
        lines.Add($"EVERYTHING ON {string.Join(", ", _targets.Select(t => t.Name))} WILL BE ERASED.");
        return WizardPage.Summary("Step 4 of 5: summary", string.Join('\n', lines), Steps);
    }

    private WizardPage ConfirmStep()
    {
        ImageSummary image = Image;
        IReadOnlyList<DiskChoice> targets = _targets;
        string names = string.Join(' ', targets.Select(t => t.Name));
        var view = new WizardPage("Step 5 of 5: confirm");
        var prompt = new TextBlock
        {
            X = 0,
            Y = 2,
            Width = Dim.Fill(),
            Text = $"Type the names of all {Disks(targets.Count)}, separated by spaces:\n  {names}\nand press Enter to erase them and deploy:",
        };
        var field = new TextField { X = 0, Y = Pos.Bottom(prompt), Width = Dim.Fill() };
        var status = new TextBlock { X = 0, Y = Pos.Bottom(field) + 1, Width = Dim.Fill(), Height = 2 };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            string typed = field.Text.Trim();
            if (!NamesAll(typed, targets))
            {
                status.Text = $"'{typed}' does not name exactly {names}; nothing was written.";
                return;
            }
            if (Services.Jobs is not IJobRunner jobs)
            {
                status.Text = $"Deploying is {TuiServices.NotAvailable}.";
                return;
            }
            var request = new RestoreRequest(image, targets, Passphrase);
            Host.Push(new ProgressScreen(Services, "deployment", $"Deploying {image.Name} onto {names}",
                (progress, token) => jobs.RestoreAsync(request, progress, token)));
        };
        view.Add(prompt, field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private static string Disks(int count) => count == 1 ? "1 disk" : $"{count} disks";
}
