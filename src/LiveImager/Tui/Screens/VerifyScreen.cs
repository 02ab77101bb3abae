using LiveImager.Engine.Imaging;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Verify: the image file (and an encrypted one's passphrase), then a progress screen that checks every frame.</summary>
internal sealed class VerifyScreen : Screen
{
    private readonly TuiServices _services;
    private readonly TextField _path;
    private readonly TextBlock _passLabel;
    private readonly TextField _pass;
    private readonly TextBlock _status;

    /// <summary>The passphrase of the last encrypted image verified; zeroed when the screen closes (<see cref="Dispose"/>).</summary>
    private ImagePassphrase? _passphrase;

    public VerifyScreen(TuiServices services)
        : base("Verify")
    {
        _services = services;
        var prompt = new TextBlock { X = 2, Y = 1, Text = "The image file to check:" };
        string store = services.Session.StorePath is string s ? StoreDirectory.Prefix(s) : "";
        _path = new TextField { X = 2, Y = 2, Width = Dim.Fill(2), Text = store };
        // Shown only for an encrypted image: the same masked field as the capture and restore wizards'.
        _passLabel = new TextBlock { X = 2, Y = 6, Text = "Passphrase:", Visible = false };
        _pass = PassphraseField.Create(16, 6);
        _pass.Visible = false;
        _status = new TextBlock { X = 2, Y = 4, Width = Dim.Fill(2), Height = 2, Text = "Press Enter to start. The image is only read." };
        _path.Accepting += (_, e) =>
        {
            e.Handled = true;
            Start(StoreDirectory.Image(_path.Text.Trim()));
        };
        _pass.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (_pass.Text.Length == 0)
            {
                _status.Text = "Type the image's passphrase and press Enter.";
                return;
            }
            _passphrase?.Dispose();
            _passphrase = new ImagePassphrase(_pass.Text);
            _pass.Text = "";
            Verify(StoreDirectory.Image(_path.Text.Trim()), _passphrase);
        };
        Add(prompt, _path, _passLabel, _pass, _status);
    }

    public override string HelpText =>
        "Verify reads an image from end to end and checks every frame's checksum and the index, without any disk. " +
        "A damaged frame is reported with its position. Type the image's path and press Enter; an encrypted image's " +
        "passphrase is asked for next.";

    public override void OnShown() => _path.SetFocus();

    private void Start(string path)
    {
        if (_services.Jobs is null)
        {
            _status.Text = $"Verifying is {TuiServices.NotAvailable}.";
            return;
        }
        _status.Text = $"Checking {path}...";
        _ = Task.Run(() =>
        {
            bool exists = StoreDirectory.ImageExists(path);
            bool encrypted = exists && IsEncrypted(path);
            Host.RunningApp.Invoke(() =>
            {
                _passLabel.Visible = _pass.Visible = encrypted;
                if (!exists)
                {
                    _status.Text = $"'{path}' is not a file here.";
                    return;
                }
                if (encrypted)
                {
                    _status.Text = "The image is encrypted: type its passphrase and press Enter.";
                    _pass.SetFocus();
                    return;
                }
                Verify(path, null);
            });
        });
    }

    private void Verify(string path, ImagePassphrase? passphrase)
    {
        if (_services.Jobs is not IJobRunner jobs)
        {
            return;
        }
        _status.Text = "Press Enter to start. The image is only read.";
        Host.Push(new ProgressScreen(_services, "verify", $"Verifying {path}",
            (progress, token) => jobs.VerifyAsync(path, progress, token, passphrase)));
    }

    /// <summary>True when the file's header says it is encrypted; a file that is no image is left to the job to name.</summary>
    private static bool IsEncrypted(string path)
    {
        try
        {
            return ImageCatalog.IsEncrypted(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DiskFormatException or ImagingException)
        {
            return false;
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
}
