using System.Collections.ObjectModel;
using System.Globalization;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>The restore wizard: store, image, target disk, summary, typed confirmation, start. Esc steps back.</summary>
internal sealed class RestoreScreen : Screen
{
    private readonly TuiServices _services;
    private readonly WizardSteps _steps;
    private string _store = "";
    private IReadOnlyList<ImageSummary> _images = [];
    private ImageSummary? _image;
    private DiskChoice? _target;

    public RestoreScreen(TuiServices services)
        : base("Restore")
    {
        _services = services;
        _steps = new WizardSteps(this, [StoreStep, ImageStep, TargetStep, SummaryStep, ConfirmStep]);
    }

    public override string HelpText =>
        "Restore writes an image onto a disk and erases everything on that disk. Steps: the directory with the images, " +
        "the image, the target disk (one too small, in use, or the stick itself cannot be chosen), a summary, then you " +
        "type the target's name (for example sdb) to confirm. Nothing is written before that. Esc goes back one step.";

    /// <summary>The step shown now, counted from 0 (store directory).</summary>
    public int Step => _steps.Current;

    public override void OnShown() => _steps.ShowCurrent();

    public override bool OnBack() => _steps.Back();

    /// <summary>Why a disk cannot take the image, with the numbers; null when it fits.</summary>
    public static string? TooSmall(DiskChoice disk, ImageSummary image) =>
        disk.SizeBytes >= image.RequiredBytes
            ? null
            : $"too small.\nIt holds    {ByteCount.Exact(disk.SizeBytes)};\nthe image needs {ByteCount.Exact(image.RequiredBytes)}";

    private WizardPage StoreStep()
    {
        var view = new WizardPage("Step 1 of 5: the directory with the images");
        var field = new TextField { X = 0, Y = 2, Width = Dim.Fill(), Text = _store.Length > 0 ? _store : _services.Session.StorePath ?? "" };
        var status = new TextBlock { X = 0, Y = 4, Width = Dim.Fill(), Height = 2, Text = "Press Enter to list its images." };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (_services.Images is not IImageCatalog catalog)
            {
                status.Text = $"Reading image details is {TuiServices.NotAvailable}.";
                return;
            }
            string path = field.Text.Trim();
            status.Text = $"Reading {path}...";
            _ = Task.Run(async () =>
            {
                string? error = null;
                IReadOnlyList<ImageSummary> images = [];
                try
                {
                    images = Directory.Exists(path) ? await catalog.ListAsync(path, CancellationToken.None) : [];
                    error = !Directory.Exists(path) ? $"'{path}' is not a directory here." : images.Count == 0 ? $"{path} holds no images." : null;
                }
                catch (Exception ex)
                {
                    error = $"{path} could not be read: {ex.Message}";
                }
                Host.RunningApp.Invoke(() =>
                {
                    if (error is not null)
                    {
                        status.Text = error;
                        return;
                    }
                    _store = Path.GetFullPath(path);
                    _services.Session.StorePath = _store;
                    _images = images;
                    _steps.Next();
                });
            });
        };
        view.Add(field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private WizardPage ImageStep()
    {
        var view = new WizardPage($"Step 2 of 5: the image to restore from {_store}");
        var list = new ListView { X = 0, Y = 2, Width = Dim.Fill(), Height = Dim.Fill(7) };
        list.SetSource(new ObservableCollection<string>(_images.Select(i =>
            $"{Cut(i.Name, 46),-46} {ByteCount.Format(i.SourceSizeBytes),9}  {i.Created.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}")));
        var details = new TextBlock { X = 0, Y = Pos.AnchorEnd(6), Width = Dim.Fill(), Height = 6 };
        void ShowDetails()
        {
            if (list.SelectedItem is int index && index < _images.Count)
            {
                ImageSummary i = _images[index];
                details.Text = $"From {i.SourceModel}, serial {i.SourceSerial}, a {ByteCount.Format(i.SourceSizeBytes)} disk\n" +
                               $"Taken {i.Created.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}, stored in {ByteCount.Format(i.StoredBytes)}\n" +
                               $"Needs a disk of at least {ByteCount.Exact(i.RequiredBytes)}\n" +
                               $"Partitions: {string.Join(", ", i.Partitions)}";
            }
        }
        list.ValueChanged += (_, _) => ShowDetails();
        list.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (list.SelectedItem is int index && index < _images.Count)
            {
                _image = _images[index];
                _steps.Next();
            }
        };
        view.Add(list, details);
        view.Shown = () =>
        {
            list.SetFocus();
            list.SelectedItem ??= 0;
            ShowDetails();
        };
        return view;
    }

    private WizardPage TargetStep()
    {
        ImageSummary image = _image ?? throw new InvalidOperationException("No image was chosen.");
        var view = new WizardPage($"Step 3 of 5: the disk to overwrite (needs {ByteCount.Format(image.RequiredBytes)})");
        var picker = new DiskPicker(Host.RunningApp, _services.Disks, disk => TooSmall(disk, image)) { Y = 2 };
        picker.Chosen += disk =>
        {
            _target = disk;
            _steps.Next();
        };
        view.Add(picker);
        view.Shown = picker.Refresh;
        return view;
    }

    private WizardPage SummaryStep()
    {
        (ImageSummary image, DiskChoice target) = Chosen();
        var view = new WizardPage("Step 4 of 5: summary");
        var text = new TextBlock
        {
            X = 0,
            Y = 2,
            Width = Dim.Fill(),
            Text = $"Read image  {image.Path}\n" +
                   $"            from {image.SourceModel}, serial {image.SourceSerial}, taken {image.Created.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}\n" +
                   $"Write disk  {target.Name} ({target.Model}, serial {target.Serial}, {ByteCount.Format(target.SizeBytes)})\n\n" +
                   $"EVERYTHING ON {target.Name} WILL BE ERASED ({Partitions(target.Partitions.Count)} now).",
        };
        // Below the text however a long path wraps.
        var next = new Button { X = 0, Y = Pos.Bottom(text) + 1, Text = "_Continue", IsDefault = true };
        next.Accepting += (_, e) =>
        {
            e.Handled = true;
            _steps.Next();
        };
        view.Add(text, next);
        view.Shown = () => next.SetFocus();
        return view;
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
            if (_services.Jobs is not IJobRunner jobs)
            {
                status.Text = $"Restoring is {TuiServices.NotAvailable}.";
                return;
            }
            var request = new RestoreRequest(image, target);
            Host.Push(new ProgressScreen(_services, "restore", $"Restoring {image.Name} onto {target.Name}",
                (progress, token) => jobs.RestoreAsync(request, progress, token)));
        };
        view.Add(prompt, field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private (ImageSummary Image, DiskChoice Target) Chosen() =>
        (_image ?? throw new InvalidOperationException("No image was chosen."), _target ?? throw new InvalidOperationException("No target was chosen."));

    private static string Partitions(int count) => count == 1 ? "1 partition" : $"{count} partitions";

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "~";
}
