using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A wizard that starts from an image: its first two steps choose the store and the image in it, the same for
/// restoring onto one disk and deploying onto several. An encrypted image's step asks for its passphrase and checks it
/// against the image before the wizard goes on.</summary>
internal abstract class ImageWizardScreen : WizardScreen
{
    private string _store = "";
    private IReadOnlyList<ImageSummary> _images = [];
    private ImageSummary? _image;

    /// <summary>The encrypted image chosen whose passphrase is asked for now, else null.</summary>
    private ImageSummary? _locked;

    /// <summary>The chosen encrypted image's passphrase, checked; zeroed when the screen closes (<see cref="Dispose"/>).</summary>
    private ImagePassphrase? _passphrase;

    protected ImageWizardScreen(string title, TuiServices services)
        : base(title)
    {
        Services = services;
    }

    protected TuiServices Services { get; }

    /// <summary>The image chosen on the second step, with its details (read under its passphrase when encrypted).</summary>
    protected ImageSummary Image => _image ?? throw new InvalidOperationException("No image was chosen.");

    /// <summary>The chosen image's passphrase when it is encrypted, else null; for the job's request.</summary>
    protected ImagePassphrase? Passphrase => _image is { Encrypted: true } ? _passphrase : null;

    protected WizardPage StoreStep() =>
        ImagePages.Store("Step 1 of 5: the directory with the images", Services, Host.RunningApp, _store, (store, images) =>
        {
            _store = store;
            _images = images;
            Steps.Next();
        });

    /// <param name="purpose">What the image is for, as the step's title says it: "restore", "deploy".</param>
    protected WizardPage ImageStep(string purpose) =>
        _locked is ImageSummary locked ? PassphrasePage(purpose, locked) :
        ImagePages.Image($"Step 2 of 5: the image to {purpose} from {_store}", _images, image =>
        {
            if (image.Encrypted)
            {
                _locked = image;
                Steps.ShowAgain();
                return;
            }
            _image = image;
            Steps.Next();
        }, opensEncrypted: true);

    /// <summary>Esc on the passphrase page goes back to the image list.</summary>
    public override bool OnBack()
    {
        if (_locked is not null)
        {
            _locked = null;
            Steps.ShowAgain();
            return true;
        }
        return base.OnBack();
    }

    /// <summary>The masked passphrase of an encrypted image; Enter checks it against the image off the UI thread, and a
    /// wrong one is said on the page to be typed again. Nothing is written on this step.</summary>
    private WizardPage PassphrasePage(string purpose, ImageSummary locked)
    {
        var view = new WizardPage($"Step 2 of 5: the passphrase of {locked.Name}, to {purpose} it");
        var label = new TextBlock { X = 0, Y = 2, Text = "Passphrase:" };
        TextField field = PassphraseField.Create(14, 2);
        var status = new TextBlock { X = 0, Y = 4, Width = Dim.Fill(), Height = 3, Text = "Type the image's passphrase and press Enter. Esc goes back to the list." };
        field.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (field.Text.Length == 0)
            {
                status.Text = "Type the image's passphrase and press Enter.";
                return;
            }
            if (Services.Images is not IImageCatalog catalog)
            {
                status.Text = $"Reading image details is {TuiServices.NotAvailable}.";
                return;
            }
            var passphrase = new ImagePassphrase(field.Text);
            field.Text = "";
            status.Text = "Checking the passphrase...";
            _ = Task.Run(async () =>
            {
                ImageSummary? unlocked = null;
                string? error = null;
                try
                {
                    unlocked = await catalog.UnlockAsync(locked, passphrase, CancellationToken.None);
                }
                catch (Exception ex) when (ex is ImagePassphraseException or DiskFormatException or IOException or UnauthorizedAccessException)
                {
                    error = ex.Message;
                }
                Host.RunningApp.Invoke(() =>
                {
                    if (unlocked is null)
                    {
                        passphrase.Dispose();
                        status.Text = $"{char.ToUpperInvariant(error![0])}{error[1..]}. Type it again, or Esc for the list.";
                        return;
                    }
                    _passphrase?.Dispose();
                    _passphrase = passphrase;
                    _locked = null;
                    _image = unlocked;
                    Steps.Next();
                });
            });
        };
        view.Add(label, field, status);
        view.Shown = () => field.SetFocus();
        return view;
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
