using System.Collections.ObjectModel;
using System.Globalization;
using LiveImager.Engine.Opening;
using LiveImager.Tui.Views;
using Serilog;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Browse an image: the directory with the images, the image (its partitions are then mounted read-only, as
/// <c>liveimager mount</c> does), a partition, its folders (Space marks, Enter opens, Backspace or Esc goes up, C goes
/// on), and the directory to copy the marked items into. The image is unmounted when the screen closes, whatever way:
/// Esc back to the image list, the result's Esc to the main menu, or the TUI stopping.</summary>
internal sealed class BrowseScreen : WizardScreen
{
    /// <summary>A folder's first entries shown; a larger one says how many are left out (each row is held in memory).</summary>
    internal const int MaxEntries = 20_000;

    private const int WalkStepIndex = 3;
    private const int PartitionStepIndex = 2;

    private readonly TuiServices _services;
    private IReadOnlyList<ImageSummary> _images = [];
    private ImageSummary? _image;
    private OpenedImage? _opened;
    private bool _opening;
    private bool _closing;
    private bool _disposed;
    private BrowsedPartition? _partition;
    private string _folder = "";
    private readonly SortedSet<string> _marked = new(StringComparer.Ordinal);
    private Walk? _walk;

    public BrowseScreen(TuiServices services)
        : base("Browse")
    {
        _services = services;
        UseSteps([StoreStep, ImageStep, PartitionStep, WalkStep, DestinationStep]);
    }

    public override string HelpText =>
        "Browse opens an image without restoring it and copies files or folders out of it. Steps: the directory with " +
        "the images, the image (its partitions are mounted read-only; nothing is written to it), a partition, then its " +
        "folders: Enter opens a folder, Backspace or Esc goes up, Space marks a file or folder, C goes on with the " +
        "marked ones. Last, the directory to copy them into, under their own names; an existing file there is never " +
        "overwritten, and the result says what was not copied. Links are not followed. The image is unmounted when " +
        "you leave.";

    /// <summary>The image opened now, for tests; null when none is mounted.</summary>
    internal OpenedImage? Opened => _opened;

    /// <summary>The folder shown, relative to the partition's root ("" at the root).</summary>
    internal string Folder => _folder;

    internal IReadOnlyCollection<string> Marked => _marked;

    /// <summary>Esc: up one folder while walking; closing the image before stepping back from the partitions.</summary>
    public override bool OnBack()
    {
        if (_closing)
        {
            return true;
        }
        if (Step == WalkStepIndex && _folder.Length > 0)
        {
            GoUp();
            return true;
        }
        if (Step == PartitionStepIndex && (_opened is not null || _opening))
        {
            CloseThenBack();
            return true;
        }
        return base.OnBack();
    }

    public override bool OnScreenKey(Key key)
    {
        if (Step != WalkStepIndex || _walk is null)
        {
            return false;
        }
        if (key == Key.Space)
        {
            _walk.ToggleMark();
            return true;
        }
        if (key == Key.Backspace)
        {
            GoUp();
            return true;
        }
        if (key == Key.C || key == Key.C.WithShift)
        {
            if (_marked.Count == 0)
            {
                _walk.Say("Nothing is marked yet: Space marks the file or folder under the cursor.");
                return true;
            }
            Steps.Next();
            return true;
        }
        return false;
    }

    private WizardPage StoreStep() =>
        ImagePages.Store("Step 1 of 5: the directory with the images", _services, Host.RunningApp, "", (_, images) =>
        {
            _images = images;
            Steps.Next();
        });

    private WizardPage ImageStep() =>
        ImagePages.Image("Step 2 of 5: the image to browse", _images, image =>
        {
            _image = image;
            Steps.Next();
        }, opensEncrypted: true);

    private WizardPage PartitionStep()
    {
        ImageSummary image = _image ?? throw new InvalidOperationException("No image was chosen.");
        var view = new WizardPage($"Step 3 of 5: a partition of {image.Name}");
        var header = new TextBlock { X = 0, Y = 2, Text = PartitionRow("Part", "Filesystem", "Label", "Size", "State") };
        var list = new ListView { X = 0, Y = 3, Width = Dim.Fill(), Height = Dim.Fill(4) };
        var detail = new TextBlock { X = 0, Y = Pos.AnchorEnd(3), Width = Dim.Fill(), Height = 3 };
        // An encrypted image's passphrase is asked for on this page, before it is mounted; it goes to the mount's
        // server and is zeroed once the image is open.
        var passLabel = new TextBlock { X = 0, Y = 2, Text = "Passphrase:", Visible = false };
        TextField pass = PassphraseField.Create(12, 2);
        pass.Visible = false;
        pass.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (pass.Text.Length == 0)
            {
                detail.Text = "Type the image's passphrase and press Enter. Esc goes back to the list.";
                return;
            }
            var passphrase = new Formats.ImageFormat.ImagePassphrase(pass.Text);
            pass.Text = "";
            Open(image, detail, ShowPartitions, passphrase);
        };
        void ShowPartitions(OpenedImage opened)
        {
            passLabel.Visible = pass.Visible = false;
            header.Visible = list.Visible = true;
            list.SetFocus();
            list.SetSource(new ObservableCollection<string>(opened.Partitions.Select(p => PartitionRow($"p{p.Number}", p.Filesystem,
                p.Label ?? "", ByteSize.Format(p.SizeBytes), p.MountPoint is not null ? "can be opened" : "cannot be opened"))));
            list.SelectedItem = opened.Partitions.Count > 0 ? 0 : null;
            ShowDetail();
        }
        void ShowDetail()
        {
            if (_opened is not OpenedImage opened || list.SelectedItem is not int index || index >= opened.Partitions.Count)
            {
                return;
            }
            BrowsedPartition p = opened.Partitions[index];
            detail.Text = p.MountPoint is not null
                ? "Press Enter to walk its folders. The image is mounted read-only; nothing is written to it."
                : $"p{p.Number} cannot be opened: {p.Problem}";
        }
        list.ValueChanged += (_, _) => ShowDetail();
        list.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (_opened is not OpenedImage opened || list.SelectedItem is not int index || index >= opened.Partitions.Count)
            {
                return;
            }
            BrowsedPartition p = opened.Partitions[index];
            if (p.MountPoint is null)
            {
                ShowDetail();
                return;
            }
            if (_partition != p)
            {
                _marked.Clear();
                _folder = "";
            }
            _partition = p;
            Steps.Next();
        };
        view.Add(header, list, passLabel, pass, detail);
        view.Shown = () =>
        {
            list.SetFocus();
            if (_opened is OpenedImage opened)
            {
                ShowPartitions(opened);
                return;
            }
            if (image.Encrypted)
            {
                header.Visible = list.Visible = false;
                passLabel.Visible = pass.Visible = true;
                pass.SetFocus();
                detail.Text = "This image is encrypted: type its passphrase and press Enter.\nEsc goes back to the list.";
                return;
            }
            Open(image, detail, ShowPartitions);
        };
        return view;
    }

    /// <summary>Mounts the image off the UI thread; an image opened after the screen closed or stepped back is closed at once.
    /// <paramref name="passphrase"/> (an encrypted image's) is zeroed when the open ends, however it ends.</summary>
    private void Open(ImageSummary image, TextBlock status, Action<OpenedImage> shown, Formats.ImageFormat.ImagePassphrase? passphrase = null)
    {
        if (_services.Jobs is not IJobRunner jobs)
        {
            passphrase?.Dispose();
            status.Text = $"Opening images is {TuiServices.NotAvailable}.";
            return;
        }
        if (_opening)
        {
            passphrase?.Dispose();
            return;
        }
        _opening = true;
        status.Text = $"Opening {image.Name}: mounting its partitions read-only...";
        _ = Task.Run(async () =>
        {
            OpenedImage? opened = null;
            string? error = null;
            try
            {
                opened = await jobs.OpenImageAsync(image, CancellationToken.None, passphrase);
            }
            catch (Exception ex)
            {
                error = JobFailure.Explain(ex) ?? ex.Message;
                Log.Error(ex, "Opening {Image} for browsing failed", image.Path);
            }
            finally
            {
                passphrase?.Dispose();
            }
            Host.RunningApp.Invoke(() =>
            {
                _opening = false;
                if (_disposed || _closing)
                {
                    // Left while it was opening: nothing may stay mounted.
                    CloseThenBack(jobs, opened);
                    return;
                }
                if (error is not null)
                {
                    // A wrong passphrase leaves the field on the page, to be typed again.
                    status.Text = passphrase is null ? $"{image.Name} could not be opened: {error}"
                        : $"{error}. Type it again, or Esc for the list.";
                    return;
                }
                _opened = opened;
                shown(opened!);
            });
        });
    }

    /// <summary>Esc on the partitions: unmount off the UI thread, then step back; while the image is still being
    /// opened, the open's end does it.</summary>
    private void CloseThenBack()
    {
        _closing = true;
        if (_opening)
        {
            return;
        }
        OpenedImage? opened = _opened;
        _opened = null;
        _partition = null;
        _marked.Clear();
        _folder = "";
        if (_services.Jobs is IJobRunner jobs)
        {
            CloseThenBack(jobs, opened);
        }
    }

    private void CloseThenBack(IJobRunner jobs, OpenedImage? opened) => _ = Task.Run(() =>
    {
        if (opened is not null)
        {
            Close(jobs, opened);
        }
        Host.RunningApp.Invoke(() =>
        {
            _closing = false;
            if (!_disposed)
            {
                Steps.Back();
            }
        });
    });

    private static void Close(IJobRunner jobs, OpenedImage opened)
    {
        try
        {
            IReadOnlyList<string> left = jobs.CloseImage(opened);
            if (left.Count > 0)
            {
                Log.Error("Closing the browsed image under {Directory} left: {Left}", opened.Directory, string.Join("; ", left));
            }
        }
        catch (Exception ex)
        {
            Log.Error(ex, "Closing the browsed image under {Directory} failed", opened.Directory);
        }
    }

    private WizardPage WalkStep()
    {
        BrowsedPartition partition = _partition ?? throw new InvalidOperationException("No partition was chosen.");
        var view = new WizardPage($"Step 4 of 5: the files of p{partition.Number} ({partition.Filesystem})");
        _walk = new Walk(this, partition.MountPoint!) { Y = 2 };
        view.Add(_walk);
        view.Shown = _walk.Load;
        return view;
    }

    private void GoUp()
    {
        if (_folder.Length == 0 || _walk is null)
        {
            return;
        }
        string left = Path.GetFileName(_folder);
        _folder = _folder.Contains('/', StringComparison.Ordinal) ? _folder[.._folder.LastIndexOf('/')] : "";
        _walk.Load(select: left);
    }

    private WizardPage DestinationStep()
    {
        BrowsedPartition partition = _partition ?? throw new InvalidOperationException("No partition was chosen.");
        string[] items = [.. _marked];
        var view = new WizardPage($"Step 5 of 5: the directory to copy {Count(items.Length)} into");
        var field = new TextField { X = 0, Y = 2, Width = Dim.Fill(), Text = _services.Session.StorePath ?? "" };
        var marked = new TextBlock
        {
            X = 0,
            Y = 4,
            Width = Dim.Fill(),
            Height = 4,
            Text = "Marked: " + string.Join(", ", items.Take(6).Select(i => "/" + i)) + (items.Length > 6 ? $" and {items.Length - 6} more" : ""),
        };
        var status = new TextBlock
        {
            X = 0,
            Y = 9,
            Width = Dim.Fill(),
            Height = 2,
            Text = "A store's directory or a local one. Press Enter to copy; existing files are not overwritten.",
        };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            string path = field.Text.Trim();
            if (_services.Jobs is not IJobRunner jobs)
            {
                status.Text = $"Copying files is {TuiServices.NotAvailable}.";
                return;
            }
            status.Text = $"Checking {path}...";
            _ = Task.Run(() =>
            {
                bool exists = path.Length > 0 && Directory.Exists(path);
                Host.RunningApp.Invoke(() =>
                {
                    if (!exists)
                    {
                        status.Text = $"'{path}' is not a directory here. Mount the target from the Shell or set it in Storage.";
                        return;
                    }
                    string destination = Path.GetFullPath(path);
                    var request = new CopyOutRequest(partition, items, destination);
                    Host.Push(new ProgressScreen(_services, "copy", $"Copying {Count(items.Length)} from p{partition.Number} into {destination}",
                        (progress, token) => jobs.CopyOutAsync(request, progress, token)));
                });
            });
        };
        view.Add(field, marked, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private static string Count(int items) => items == 1 ? "1 marked item" : $"{items} marked items";

    private static string PartitionRow(string number, string filesystem, string label, string size, string state) =>
        string.Format(CultureInfo.InvariantCulture, "{0,-5} {1,-10} {2,-20} {3,9}  {4}", number, filesystem, Cut(label, 20), size, state);

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "~";

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (_opened is OpenedImage opened && _services.Jobs is IJobRunner jobs)
            {
                _opened = null;
                // The screen is closing (to the main menu, or the TUI is stopping): unmount before anything else runs,
                // so nothing stays mounted if the process ends next.
                Close(jobs, opened);
            }
        }
        base.Dispose(disposing);
    }

    /// <summary>One folder of the partition: a row per entry (mark, name, size, date), folders first; listed off the UI thread.</summary>
    private sealed class Walk : View
    {
        private readonly BrowseScreen _screen;
        private readonly string _root;
        private readonly TextBlock _where;
        private readonly ListView _list;
        private readonly TextBlock _status;
        private IReadOnlyList<Entry> _entries = [];
        private string? _note;

        public Walk(BrowseScreen screen, string root)
        {
            _screen = screen;
            _root = root;
            Width = Dim.Fill();
            Height = Dim.Fill();
            CanFocus = true;
            _where = new TextBlock { X = 0, Y = 0, Width = Dim.Fill() };
            var header = new TextBlock { X = 0, Y = 1, Text = Row(" ", "Name", "Size", "Modified") };
            _list = new ListView { X = 0, Y = 2, Width = Dim.Fill(), Height = Dim.Fill(3) };
            _status = new TextBlock { X = 0, Y = Pos.AnchorEnd(3), Width = Dim.Fill(), Height = 3 };
            _list.Accepting += (_, e) =>
            {
                e.Handled = true;
                if (Selected() is Entry { Kind: EntryKind.Folder } entry)
                {
                    _screen._folder = Relative(entry.Name);
                    Load();
                }
                else if (Selected() is not null)
                {
                    Say("Space marks it; C copies what is marked. Enter opens folders.");
                }
            };
            Add(_where, header, _list, _status);
        }

        public void Load() => Load(select: null);

        /// <summary>Lists the current folder off the UI thread, then selects <paramref name="select"/> (the folder just left).</summary>
        public void Load(string? select)
        {
            _list.SetFocus();
            string folder = _screen._folder;
            string path = folder.Length == 0 ? _root : Path.Combine(_root, folder);
            _where.Text = $"/{folder}";
            _status.Text = "Reading the folder...";
            _ = Task.Run(() =>
            {
                (IReadOnlyList<Entry> entries, string? note) = List(path);
                _screen.Host.RunningApp.Invoke(() =>
                {
                    if (_screen._disposed || _screen._folder != folder)
                    {
                        return;
                    }
                    _entries = entries;
                    _note = note;
                    Refill();
                    int at = select is null ? 0 : Math.Max(0, entries.ToList().FindIndex(e => e.Name == select));
                    _list.SelectedItem = entries.Count > 0 ? at : null;
                    Say(null);
                });
            });
        }

        public void ToggleMark()
        {
            if (Selected() is not Entry entry || _list.SelectedItem is not int index)
            {
                return;
            }
            string relative = Relative(entry.Name);
            if (!_screen._marked.Remove(relative))
            {
                _screen._marked.Add(relative);
            }
            Refill();
            _list.SelectedItem = Math.Min(index + 1, _entries.Count - 1);
            Say(null);
        }

        /// <summary>Shows <paramref name="message"/>, or, when null, the marks and the keys.</summary>
        public void Say(string? message)
        {
            int marked = _screen._marked.Count;
            _status.Text = message ?? string.Join('\n', new[]
            {
                _note ?? (_entries.Count == 0 ? "This folder is empty." : ""),
                marked == 0 ? "Nothing marked." : $"{Count(marked)}: {string.Join(", ", _screen._marked.Take(3).Select(m => "/" + m))}{(marked > 3 ? ", ..." : "")}",
                "Space marks  Enter opens a folder  Backspace/Esc up  C copies the marked",
            });
        }

        private void Refill() =>
            _list.SetSource(new ObservableCollection<string>(_entries.Select(e => Row(
                _screen._marked.Contains(Relative(e.Name)) ? "*" : " ",
                e.Kind switch { EntryKind.Folder => e.Name + "/", EntryKind.Link => $"{e.Name} -> {e.Target}", _ => e.Name },
                e.Kind switch { EntryKind.Folder => "folder", EntryKind.Link => "link", EntryKind.Other => "special", _ => ByteSize.Format(e.Size) },
                e.Modified.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)))));

        private Entry? Selected() => _list.SelectedItem is int index && index < _entries.Count ? _entries[index] : null;

        private string Relative(string name) => _screen._folder.Length == 0 ? name : $"{_screen._folder}/{name}";

        /// <summary>The folder's entries, folders first then by name, at most <see cref="MaxEntries"/>; a folder that
        /// cannot be read gives no entries and the reason.</summary>
        private static (IReadOnlyList<Entry> Entries, string? Note) List(string path)
        {
            var entries = new List<Entry>();
            bool more = false;
            try
            {
                foreach (FileSystemInfo info in new DirectoryInfo(path).EnumerateFileSystemInfos("*", new EnumerationOptions
                         {
                             RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false, ReturnSpecialDirectories = false,
                         }))
                {
                    if (entries.Count == MaxEntries)
                    {
                        more = true;
                        break;
                    }
                    EntryKind kind = info.LinkTarget is not null ? EntryKind.Link
                        : info is DirectoryInfo ? EntryKind.Folder
                        : (info.Attributes & FileAttributes.Device) != 0 ? EntryKind.Other
                        : EntryKind.File;
                    entries.Add(new Entry(info.Name, kind, kind == EntryKind.File ? ((FileInfo)info).Length : 0, info.LastWriteTimeUtc, info.LinkTarget));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return ([], $"This folder cannot be read: {e.Message}");
            }
            entries.Sort((a, b) => a.Kind == b.Kind || (a.Kind != EntryKind.Folder && b.Kind != EntryKind.Folder)
                ? string.CompareOrdinal(a.Name, b.Name)
                : a.Kind == EntryKind.Folder ? -1 : 1);
            return (entries, more ? $"Only the first {MaxEntries} entries are shown." : null);
        }

        private static string Row(string mark, string name, string size, string date) =>
            string.Format(CultureInfo.InvariantCulture, "{0} {1,-44} {2,9}  {3}", mark, Cut(name, 44), size, date);
    }

    private enum EntryKind
    {
        Folder,
        File,
        Link,
        Other,
    }

    private sealed record Entry(string Name, EntryKind Kind, long Size, DateTime Modified, string? Target);
}
