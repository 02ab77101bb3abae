using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Where images live for this session: a local directory now; shares once the storage back end is connected.</summary>
internal sealed class StorageScreen : Screen
{
    private readonly TuiServices _services;
    private readonly TextField _path;
    private readonly TextBlock _status;

    public StorageScreen(TuiServices services)
        : base("Storage")
    {
        _services = services;
        var prompt = new TextBlock { X = 2, Y = 1, Text = "Directory for images (a mounted partition or share):" };
        _path = new TextField { X = 2, Y = 2, Width = Dim.Fill(2), Text = services.Session.StorePath ?? "" };
        _status = new TextBlock { X = 2, Y = 4, Width = Dim.Fill(2), Height = 2, Text = Current() };
        var shares = new TextBlock
        {
            X = 2,
            Y = 7,
            Width = Dim.Fill(2),
            Text = $"Partition of a local drive (mount and list): {TuiServices.NotAvailable}\n" +
                   $"SMB share (server, share, user, password, domain): {TuiServices.NotAvailable}\n" +
                   $"NFS export (server, export): {TuiServices.NotAvailable}\n" +
                   $"SSH (user@host, path, password or key): {TuiServices.NotAvailable}",
        };
        _path.Accepting += (_, e) =>
        {
            e.Handled = true;
            Check(_path.Text.Trim());
        };
        Add(prompt, _path, _status, shares);
    }

    public override string HelpText =>
        "Type the directory where images are written and read, then press Enter. It must exist; it is remembered until " +
        "the machine restarts and offered by Capture, Restore and Verify. To use a USB drive, mount it from the Shell first.";

    public override void OnShown() => _path.SetFocus();

    private string Current() => _services.Session.StorePath is string store ? $"Images are kept in {store}." : "No storage chosen yet.";

    private void Check(string path)
    {
        if (path.Length == 0)
        {
            _status.Text = "Type a directory first.";
            return;
        }
        _status.Text = $"Checking {path}...";
        _ = Task.Run(() =>
        {
            bool exists = Directory.Exists(path);
            Host.RunningApp.Invoke(() =>
            {
                if (!exists)
                {
                    _status.Text = $"{path} is not a directory here; nothing was changed.\n{Current()}";
                    return;
                }
                _services.Session.StorePath = Path.GetFullPath(path);
                _status.Text = Current();
            });
        });
    }
}
