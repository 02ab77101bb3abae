using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Verify: the image file, then a progress screen that checks every frame.</summary>
internal sealed class VerifyScreen : Screen
{
    private readonly TuiServices _services;
    private readonly TextField _path;
    private readonly TextBlock _status;

    public VerifyScreen(TuiServices services)
        : base("Verify")
    {
        _services = services;
        var prompt = new TextBlock { X = 2, Y = 1, Text = "The image file to check:" };
        string store = services.Session.StorePath is string s ? StoreDirectory.Prefix(s) : "";
        _path = new TextField { X = 2, Y = 2, Width = Dim.Fill(2), Text = store };
        _status = new TextBlock { X = 2, Y = 4, Width = Dim.Fill(2), Height = 2, Text = "Press Enter to start. The image is only read." };
        _path.Accepting += (_, e) =>
        {
            e.Handled = true;
            Start(StoreDirectory.Image(_path.Text.Trim()));
        };
        Add(prompt, _path, _status);
    }

    public override string HelpText =>
        "Verify reads an image from end to end and checks every frame's checksum and the index, without any disk. " +
        "A damaged frame is reported with its position. Type the image's path and press Enter.";

    public override void OnShown() => _path.SetFocus();

    private void Start(string path)
    {
        if (_services.Jobs is not IJobRunner jobs)
        {
            _status.Text = $"Verifying is {TuiServices.NotAvailable}.";
            return;
        }
        _status.Text = $"Checking {path}...";
        _ = Task.Run(() =>
        {
            bool exists = StoreDirectory.ImageExists(path);
            Host.RunningApp.Invoke(() =>
            {
                if (!exists)
                {
                    _status.Text = $"'{path}' is not a file here.";
                    return;
                }
                _status.Text = "Press Enter to start. The image is only read.";
                Host.Push(new ProgressScreen(_services, "verify", $"Verifying {path}", (progress, token) => jobs.VerifyAsync(path, progress, token)));
            });
        });
    }
}
