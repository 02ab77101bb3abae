using LiveImager.Tui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A wizard that starts from an image: its first two steps choose the store and the image in it, the same for
/// restoring onto one disk and deploying onto several.</summary>
internal abstract class ImageWizardScreen : WizardScreen
{
    private string _store = "";
    private IReadOnlyList<ImageSummary> _images = [];
    private ImageSummary? _image;

    protected ImageWizardScreen(string title, TuiServices services)
        : base(title)
    {
        Services = services;
    }

    protected TuiServices Services { get; }

    /// <summary>The image chosen on the second step.</summary>
    protected ImageSummary Image => _image ?? throw new InvalidOperationException("No image was chosen.");

    protected WizardPage StoreStep() =>
        ImagePages.Store("Step 1 of 5: the directory with the images", Services, Host.RunningApp, _store, (store, images) =>
        {
            _store = store;
            _images = images;
            Steps.Next();
        });

    /// <param name="purpose">What the image is for, as the step's title says it: "restore", "deploy".</param>
    protected WizardPage ImageStep(string purpose) =>
        ImagePages.Image($"Step 2 of 5: the image to {purpose} from {_store}", _images, image =>
        {
            _image = image;
            Steps.Next();
        });
}
