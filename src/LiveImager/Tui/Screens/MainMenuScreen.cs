using LiveImager.Tui.Views;
using System.Collections.ObjectModel;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>The first screen: every task by number; Esc asks before leaving.</summary>
internal sealed class MainMenuScreen : Screen
{
    private readonly TuiServices _services;
    private readonly MenuEntry[] _entries;
    private readonly ListView _list;

    public MainMenuScreen(TuiServices services)
        : base("Main menu")
    {
        _services = services;
        _entries =
        [
            new('1', "Capture a disk", () => Host.Push(new CaptureScreen(_services))),
            new('2', "Restore an image", () => Host.Push(new RestoreScreen(_services))),
            new('3', "Verify an image", () => Host.Push(new VerifyScreen(_services))),
            new('4', "Deploy one image to several disks", () => Host.Push(new DeployScreen(_services))),
            new('5', "Storage", () => Host.Push(new StorageScreen(_services))),
            new('6', "Disks", () => Host.Push(new DisksScreen(_services))),
            new('7', "Logs", () => Host.Push(new LogsScreen(_services))),
            new('8', "Shell", () => Host.Stop(TuiExit.Shell)),
            new('9', "Reboot / Power off", () => Host.Push(new PowerScreen())),
            new('0', "Browse an image and copy files out", () => Host.Push(new BrowseScreen(_services))),
            new('m', "Multicast: send one image to many machines, or receive it", () => Host.Push(new MulticastScreen(_services))),
        ];
        var intro = new TextBlock { X = 2, Y = 1, Text = "Press a number, or move with Up/Down and press Enter." };
        _list = new ListView { X = 2, Y = 3, Width = Dim.Fill(2), Height = _entries.Length };
        _list.SetSource(new ObservableCollection<string>(_entries.Select(e => $"{char.ToUpperInvariant(e.Key)}  {e.Label}")));
        _list.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (_list.SelectedItem is int index)
            {
                _entries[index].Open();
            }
        };
        Add(intro, _list);
    }

    public override string HelpText =>
        "LiveImager copies whole disks to image files and back. Capture reads a disk into an image; Restore writes an " +
        "image onto a disk and erases what was there; Deploy writes one image onto several disks from one read; Verify checks every byte of an image; Browse opens an image read-only and copies files or folders out of it; Multicast (M) sends one image to many machines on the network at once, or receives it here. Storage sets where images " +
        "are kept; Disks lists this machine's disks; Logs shows what was done. Shell opens a root shell (type exit to " +
        "come back). Esc on this screen asks before leaving.";

    public override void OnShown()
    {
        _list.SetFocus();
        _list.SelectedItem ??= 0;
    }

    public override bool OnScreenKey(Key key)
    {
        foreach (MenuEntry entry in _entries)
        {
            if (key == (Key)entry.Key)
            {
                entry.Open();
                return true;
            }
        }
        return false;
    }

    private sealed record MenuEntry(char Key, string Label, Action Open);
}
