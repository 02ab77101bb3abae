using System.Collections.ObjectModel;
using System.Globalization;
using Terminal.Gui.App;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Views;

/// <summary>A table of the machine's disks; a disk in use, the boot medium, or one refused by the caller is listed but cannot be chosen, and the reason is shown.
/// With several allowed, Space marks and unmarks disks and Enter hands on the marked ones.</summary>
internal sealed class DiskPicker : View
{
    // 73 columns: fits the 74 a page has inside an 80-column window.
    private const string RowFormat = "{0,-8}{1,9}  {2,-18} {3,-15} {4,-5} {5,5}  {6}";

    private readonly IApplication _app;
    private readonly IDiskSource? _source;
    private readonly Func<DiskChoice, string?> _callerRefusal;
    private readonly ListView _list;
    private readonly TextBlock _detail;
    private readonly bool _several;
    private readonly HashSet<string> _marked = [];
    private IReadOnlyList<DiskChoice> _disks = [];
    private CancellationTokenSource? _scan;

    /// <param name="callerRefusal">An extra reason to refuse a disk (a restore target too small), or null.</param>
    /// <param name="several">True to choose several disks: Space marks, Enter raises <see cref="ChosenSeveral"/>.</param>
    public DiskPicker(IApplication app, IDiskSource? source, Func<DiskChoice, string?>? callerRefusal = null, bool several = false)
    {
        _app = app;
        _several = several;
        _source = source;
        _callerRefusal = callerRefusal ?? (_ => null);
        Width = Dim.Fill();
        Height = Dim.Fill();
        CanFocus = true;
        var header = new TextBlock { X = 0, Y = 0, Text = Row("Disk", "Size", "Model", "Serial", "Bus", "Parts", "State") };
        _list = new ListView { X = 0, Y = 1, Width = Dim.Fill(), Height = Dim.Fill(5) };
        _detail = new TextBlock { X = 0, Y = Pos.AnchorEnd(5), Width = Dim.Fill(), Height = 5 };
        _list.ValueChanged += (_, _) => ShowDetail(null);
        _list.Accepting += (_, e) =>
        {
            e.Handled = true;
            TryChoose();
        };
        Add(header, _list, _detail);
    }

    /// <summary>Raised when the technician presses Enter on a disk that may be chosen.</summary>
    public event Action<DiskChoice>? Chosen;

    /// <summary>Raised when the technician presses Enter with at least one disk marked, the marked disks in table order.</summary>
    public event Action<IReadOnlyList<DiskChoice>>? ChosenSeveral;

    /// <summary>True once a scan has finished (with or without disks), so tests and callers know the table is final.</summary>
    public bool Loaded { get; private set; }

    public IReadOnlyList<DiskChoice> Disks => _disks;

    /// <summary>Why the disk may not be chosen here, or null when it may.</summary>
    public string? RefusalOf(DiskChoice disk) => disk.Refusal ?? _callerRefusal(disk);

    /// <summary>Starts a scan off the UI thread; the table fills in when it ends.</summary>
    public void Refresh()
    {
        Loaded = false;
        _list.SetFocus();
        if (_source is null)
        {
            _detail.Text = $"Disk discovery is {TuiServices.NotAvailable}.";
            Loaded = true;
            return;
        }
        _scan?.Cancel();
        _scan = new CancellationTokenSource();
        CancellationToken token = _scan.Token;
        _detail.Text = "Scanning disks...";
        IDiskSource source = _source;
        _ = Task.Run(async () =>
        {
            try
            {
                IReadOnlyList<DiskChoice> disks = await source.ScanAsync(token);
                _app.Invoke(() => Show(disks, null));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _app.Invoke(() => Show([], $"The disks could not be listed: {ex.Message}"));
            }
        }, token);
    }

    private void Show(IReadOnlyList<DiskChoice> disks, string? error)
    {
        _disks = disks;
        _list.SetSource(new ObservableCollection<string>(disks.Select(FormatRow)));
        Loaded = true;
        if (disks.Count > 0)
        {
            _list.SelectedItem = 0;
        }
        ShowDetail(error ?? (disks.Count == 0 ? "No disks were found." : null));
        SetNeedsDraw();
    }

    /// <summary>Marks the disk under the cursor, or unmarks it; a disk that cannot be chosen is not marked, and the reason is shown.</summary>
    public void ToggleMark()
    {
        if (!_several || _list.SelectedItem is not int index || index >= _disks.Count)
        {
            return;
        }
        DiskChoice disk = _disks[index];
        if (RefusalOf(disk) is string refusal)
        {
            ShowDetail($"{disk.Name} cannot be chosen: {refusal}.");
            return;
        }
        if (!_marked.Remove(disk.Path))
        {
            _marked.Add(disk.Path);
        }
        _list.SetSource(new ObservableCollection<string>(_disks.Select(FormatRow)));
        _list.SelectedItem = index;
        ShowDetail(null);
        SetNeedsDraw();
    }

    private void TryChoose()
    {
        if (_several)
        {
            DiskChoice[] marked = [.. _disks.Where(d => _marked.Contains(d.Path) && RefusalOf(d) is null)];
            if (marked.Length == 0)
            {
                ShowDetail("No disk is marked yet: press Space on each disk to write, then Enter.");
                return;
            }
            ChosenSeveral?.Invoke(marked);
            return;
        }
        if (_list.SelectedItem is not int index || index >= _disks.Count)
        {
            return;
        }
        DiskChoice disk = _disks[index];
        string? refusal = RefusalOf(disk);
        if (refusal is not null)
        {
            ShowDetail($"{disk.Name} cannot be chosen: {refusal}.");
            return;
        }
        Chosen?.Invoke(disk);
    }

    private void ShowDetail(string? message)
    {
        if (message is not null)
        {
            _detail.Text = message;
            return;
        }
        if (_list.SelectedItem is not int index || index >= _disks.Count)
        {
            return;
        }
        DiskChoice disk = _disks[index];
        var lines = new List<string>
        {
            $"{disk.Path}  {disk.Model}  serial {disk.Serial}",
            $"{ByteSize.Exact(disk.SizeBytes)}, {disk.Partitions.Count} partitions",
        };
        // Five rows in all: two about the disk, up to two partitions, and whether it may be chosen.
        int shown = disk.Partitions.Count <= 2 ? disk.Partitions.Count : 1;
        lines.AddRange(disk.Partitions.Take(shown).Select(p =>
            $"  {p.Name,-10} {p.FileSystem,-8} {ByteSize.Format(p.SizeBytes),9}  used {(p.UsedBytes is long used ? ByteSize.Format(used) : "unknown")}"));
        if (disk.Partitions.Count > shown)
        {
            lines.Add($"  ... and {disk.Partitions.Count - shown} more partitions");
        }
        string? refusal = RefusalOf(disk);
        lines.Add(refusal is not null ? $"Cannot be chosen: {refusal}."
            : _several ? $"Space marks or unmarks it; Enter goes on with the {_marked.Count} marked."
            : "Press Enter to choose this disk.");
        _detail.Text = string.Join('\n', lines);
    }

    private string FormatRow(DiskChoice disk) =>
        Row(disk.Name, ByteSize.Format(disk.SizeBytes), Cut(disk.Model, 18), Cut(disk.Serial, 15), Cut(disk.Transport, 5),
            disk.Partitions.Count.ToString(CultureInfo.InvariantCulture), State(disk));

    private string State(DiskChoice disk) =>
        _marked.Contains(disk.Path) ? "MARKED" : disk.IsBootMedium ? "boot" : disk.InUseReason is not null ? "in use" : _callerRefusal(disk) is not null ? "refused" : "ok";

    private static string Row(string name, string size, string model, string serial, string bus, string parts, string state) =>
        string.Format(CultureInfo.InvariantCulture, RowFormat, name, size, model, serial, bus, parts, state);

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "~";

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _scan?.Cancel();
            _scan?.Dispose();
        }
        base.Dispose(disposing);
    }
}
