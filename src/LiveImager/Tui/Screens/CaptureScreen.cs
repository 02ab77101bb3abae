using System.Globalization;
using LiveImager.Engine.Imaging;
using LiveImager.Formats.ImageFormat;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>The capture wizard: source disk, store directory, image name, options, summary, start. Esc steps back.</summary>
internal sealed class CaptureScreen : WizardScreen
{
    private readonly TuiServices _services;
    private DiskChoice? _source;
    private string _store = "";
    private string _name = "";
    private int _level = CaptureOptions.DefaultLevel;
    private long _splitBytes;
    private bool _verifyAfter = true;

    /// <summary>Set when Encrypt is on; zeroed when the screen closes (<see cref="Dispose"/>).</summary>
    private ImagePassphrase? _passphrase;

    /// <summary>The earlier image the capture is incremental on (a file name in the store), or null for a full image.</summary>
    private string? _base;

    public CaptureScreen(TuiServices services)
        : base("Capture")
    {
        _services = services;
        UseSteps([SourceStep, StoreStep, NameStep, OptionsStep, SummaryStep]);
    }

    public override string HelpText =>
        "Capture copies a whole disk into an image file: the partition table and, for each partition, only the blocks " +
        "its filesystem uses (anything not understood is copied whole). Steps: source disk, directory, image name, " +
        "options, summary. Nothing is written until you choose Start on the summary. Esc goes back one step.";

    private WizardPage SourceStep()
    {
        var view = new WizardPage("Step 1 of 5: the disk to capture");
        var picker = new DiskPicker(Host.RunningApp, _services.Disks) { Y = 2 };
        picker.Chosen += disk =>
        {
            _source = disk;
            _name = DefaultName(disk);
            Steps.Next();
        };
        view.Add(picker);
        view.Shown = picker.Refresh;
        return view;
    }

    private WizardPage StoreStep()
    {
        var view = new WizardPage("Step 2 of 5: the directory the image is written to");
        var field = new TextField { X = 0, Y = 2, Width = Dim.Fill(), Text = _store.Length > 0 ? _store : _services.Session.StorePath ?? "" };
        var status = new TextBlock { X = 0, Y = 4, Width = Dim.Fill(), Height = 2, Text = "Press Enter to go on." };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            string path = field.Text.Trim();
            status.Text = $"Checking {path}...";
            _ = Task.Run(() =>
            {
                bool exists = path.Length > 0 && StoreDirectory.Exists(path);
                Host.RunningApp.Invoke(() =>
                {
                    if (!exists)
                    {
                        status.Text = $"'{path}' is not a directory here. Mount the target from the Shell or set it in Storage.";
                        return;
                    }
                    _store = StoreDirectory.Full(path);
                    _services.Session.StorePath = _store;
                    Steps.Next();
                });
            });
        };
        view.Add(field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private WizardPage NameStep()
    {
        var view = new WizardPage("Step 3 of 5: the image's name (from model, serial and date)");
        var field = new TextField { X = 0, Y = 2, Width = Dim.Fill(), Text = _name };
        var status = new TextBlock { X = 0, Y = 4, Width = Dim.Fill(), Height = 2, Text = "Letters, digits, '.', '_' and '-'. Press Enter to go on." };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            string name = field.Text.Trim();
            if (name.Length == 0 || name != Sanitize(name))
            {
                status.Text = $"'{name}' cannot be a file name here; use letters, digits, '.', '_' and '-'.";
                return;
            }
            string path = Path.Combine(_store, name);
            _ = Task.Run(() =>
            {
                bool taken = File.Exists(path) || Directory.Exists(path);
                Host.RunningApp.Invoke(() =>
                {
                    if (taken)
                    {
                        status.Text = $"{path} already exists; an image is never overwritten. Choose another name.";
                        return;
                    }
                    _name = name;
                    Steps.Next();
                });
            });
        };
        view.Add(field, status);
        view.Shown = () => field.SetFocus();
        return view;
    }

    private WizardPage OptionsStep()
    {
        var view = new WizardPage("Step 4 of 5: options");
        var levelLabel = new TextBlock { X = 0, Y = 2, Text = "Compression (auto, or 1 fast .. 19 small):" };
        var level = new TextField { X = 44, Y = 2, Width = 6, Text = LevelText(_level) };
        var splitLabel = new TextBlock { X = 0, Y = 3, Text = "Split into files of (0 = one file, 4G):" };
        var split = new TextField { X = 41, Y = 3, Width = 10, Text = ByteSize.FormatTyped(_splitBytes) };
        bool verifyAfter = _verifyAfter;
        // A button that says yes or no reads the same on every terminal, unlike check-box glyphs.
        var verify = new Button { X = 0, Y = 5, Text = VerifyText(verifyAfter) };
        verify.Accepting += (_, e) =>
        {
            e.Handled = true;
            verifyAfter = !verifyAfter;
            verify.Text = VerifyText(verifyAfter);
        };
        bool encryptOn = _passphrase is not null;
        var encrypt = new Button { X = 0, Y = 6, Text = EncryptText(encryptOn) };
        // Masked, typed twice; shown only while Encrypt is on.
        var passLabel = new TextBlock { X = 2, Y = 7, Text = "Passphrase:", Visible = encryptOn };
        TextField pass = PassphraseField.Create(16, 7);
        pass.Visible = encryptOn;
        var againLabel = new TextBlock { X = 2, Y = 8, Text = "Again:", Visible = encryptOn };
        TextField again = PassphraseField.Create(16, 8);
        again.Visible = encryptOn;
        encrypt.Accepting += (_, e) =>
        {
            e.Handled = true;
            encryptOn = !encryptOn;
            encrypt.Text = EncryptText(encryptOn);
            passLabel.Visible = pass.Visible = againLabel.Visible = again.Visible = encryptOn;
        };
        // Incremental: offered on the newest complete image of this very disk (serial and size) in the store.
        string? candidate = NewestImageOf(_source!);
        bool incrementalOn = _base is not null && _base == candidate;
        var incremental = new Button { X = 0, Y = 9, Text = IncrementalText(candidate, incrementalOn) };
        incremental.Accepting += (_, e) =>
        {
            e.Handled = true;
            incrementalOn = candidate is not null && !incrementalOn;
            incremental.Text = IncrementalText(candidate, incrementalOn);
        };
        var next = new Button { X = 0, Y = 11, Text = "_Next", IsDefault = true };
        var status = new TextBlock { X = 0, Y = 13, Width = Dim.Fill() };
        next.Accepting += (_, e) =>
        {
            e.Handled = true;
            string levelText = level.Text.Trim();
            int parsedLevel = CaptureOptions.AdaptiveLevel;
            if (!levelText.Equals(LevelText(CaptureOptions.AdaptiveLevel), StringComparison.OrdinalIgnoreCase)
                && (!int.TryParse(levelText, NumberStyles.None, CultureInfo.InvariantCulture, out parsedLevel) || parsedLevel is < 1 or > 19))
            {
                status.Text = $"The compression level must be auto or a number from 1 to 19, not '{level.Text}'.";
                return;
            }
            if (!ByteSize.TryParseSplit(split.Text.Trim(), out long parsedSplit))
            {
                status.Text = $"The split size must be 0 or a size like 700M or 4G, not '{split.Text}'.";
                return;
            }
            if (encryptOn && (pass.Text.Length == 0 || pass.Text != again.Text))
            {
                status.Text = pass.Text.Length == 0 ? "Type a passphrase for the image, twice." : "The two passphrases differ; type them again.";
                pass.Text = again.Text = "";
                pass.SetFocus();
                return;
            }
            if (encryptOn && incrementalOn)
            {
                status.Text = "An encrypted image cannot be incremental yet: turn one of them off.";
                return;
            }
            _base = incrementalOn ? candidate : null;
            _passphrase?.Dispose();
            _passphrase = encryptOn ? new ImagePassphrase(pass.Text) : null;
            pass.Text = again.Text = "";
            _level = parsedLevel;
            _splitBytes = parsedSplit;
            _verifyAfter = verifyAfter;
            Steps.Next();
        };
        view.Add(levelLabel, level, splitLabel, split, verify, encrypt, passLabel, pass, againLabel, again, incremental, next, status);
        view.Shown = () => level.SetFocus();
        return view;
    }

    /// <summary>"auto" for the adaptive level (harder while the disk or store is the limit), else the number.</summary>
    private static string LevelText(int level) =>
        level == CaptureOptions.AdaptiveLevel ? "auto" : level.ToString(CultureInfo.InvariantCulture);

    private WizardPage SummaryStep()
    {
        DiskChoice source = _source ?? throw new InvalidOperationException("No source disk was chosen.");
        var view = new WizardPage("Step 5 of 5: summary");
        var text = new TextBlock
        {
            X = 0,
            Y = 2,
            Width = Dim.Fill(),
            Text = $"Read disk  {source.Name} ({source.Model}, serial {source.Serial}, {ByteSize.Format(source.SizeBytes)})\n" +
                   $"Write to   {Path.Combine(_store, _name)}\n" +
                   $"Level {LevelText(_level)}, {(_splitBytes == 0 ? "one file" : $"files of {ByteSize.FormatTyped(_splitBytes)}")}, " +
                   $"{(_verifyAfter ? "verified afterwards" : "not verified afterwards")}" +
                   $"{(_passphrase is null ? "" : ", encrypted (AES-256-GCM) under your passphrase: without it the image cannot be read")}" +
                   $"{(_base is null ? "" : $", incremental on {_base}: only what changed since is stored, and restoring needs {_base} too")}\n" +
                   $"The disk {source.Name} is only read.",
        };
        // Below the text however a long path wraps.
        var start = new Button { X = 0, Y = Pos.Bottom(text) + 1, Text = "_Start capture", IsDefault = true };
        var status = new TextBlock { X = 0, Y = Pos.Bottom(start) + 1, Width = Dim.Fill() };
        start.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (_services.Jobs is not IJobRunner jobs)
            {
                status.Text = $"Capturing is {TuiServices.NotAvailable}.";
                return;
            }
            var request = new CaptureRequest(source, _store, _name, _level, _splitBytes, _verifyAfter, Passphrase: _passphrase, Base: _base);
            Host.Push(new ProgressScreen(_services, "capture", $"Capturing {source.Name} to {Path.Combine(_store, _name)}",
                (progress, token) => jobs.CaptureAsync(request, progress, token))
            {
                // Asked on the first read error: abort (Esc), or capture again going on past unreadable sectors.
                RescueCapture = () => new ProgressScreen(_services, "capture",
                    $"Capturing {source.Name} in rescue mode to {Path.Combine(_store, _name)}",
                    (progress, token) => jobs.CaptureAsync(request with { Rescue = true }, progress, token)),
            });
        };
        view.Add(text, start, status);
        view.Shown = () => start.SetFocus();
        return view;
    }

    private static string VerifyText(bool verify) => $"_Verify the image afterwards: {(verify ? "yes" : "no")}";

    private static string EncryptText(bool encrypt) => $"_Encrypt the image with a passphrase: {(encrypt ? "yes" : "no")}";

    private static string IncrementalText(string? candidate, bool on) => candidate is null
        ? "Incremental: no earlier image of this disk in this directory"
        : $"_Incremental on {candidate}: {(on ? "yes" : "no")}";

    /// <summary>The file name of the newest complete, unencrypted image of <paramref name="disk"/> (same serial and size)
    /// in the store directory, or null.</summary>
    private string? NewestImageOf(DiskChoice disk)
    {
        if (_services.Images is not IImageCatalog images || _store.Length == 0)
        {
            return null;
        }
        try
        {
            return images.ListAsync(_store, CancellationToken.None).GetAwaiter().GetResult()
                .Where(i => i.Problem is null && !i.Encrypted && i.SourceSerial == disk.Serial && i.SourceSizeBytes == disk.SizeBytes)
                .OrderByDescending(i => i.Created)
                .Select(i => Path.GetFileName(i.Path))
                .FirstOrDefault();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _passphrase?.Dispose();
            _passphrase = null;
        }
        base.Dispose(disposing);
    }

    private string DefaultName(DiskChoice disk)
    {
        string date = _services.Clock.GetLocalNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return Sanitize($"{disk.Model}_{disk.Serial}_{date}");
    }

    /// <summary>Keeps a name that is safe as a file name on every share type; anything else becomes '-'.</summary>
    private static string Sanitize(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-')).Trim('-', '.');
}
