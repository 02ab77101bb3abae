using System.Collections.ObjectModel;
using LiveImager.Tui.Views;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Multicast (docs/multicast.md): this machine either sends one image to every machine on the network that
/// joins, or is one of those machines and receives the image onto a disk.</summary>
internal sealed class MulticastScreen : Screen
{
    private readonly ListView _list;
    private readonly Action[] _choices;

    public MulticastScreen(TuiServices services)
        : base("Multicast")
    {
        _choices =
        [
            () => Host.Push(new MulticastSendScreen(services)),
            () => Host.Push(new MulticastReceiveScreen(services)),
        ];
        var intro = new TextBlock
        {
            X = 2, Y = 1, Width = Dim.Fill(2),
            Text = "One image to many machines on this network at once, in one stream. Start the\n" +
                   "receiving machines first, then the sender. Press a number:",
        };
        _list = new ListView { X = 2, Y = 4, Width = Dim.Fill(2), Height = _choices.Length };
        _list.SetSource(new ObservableCollection<string>(
        [
            "1  Send an image from here to the machines that join",
            "2  Receive an image from a sender and restore it onto a disk of this machine",
        ]));
        _list.Accepting += (_, e) =>
        {
            e.Handled = true;
            if (_list.SelectedItem is int index)
            {
                _choices[index]();
            }
        };
        Add(intro, _list);
    }

    public override string HelpText =>
        "Multicast sends one image to many machines at once: the sender streams it once, and every receiving machine " +
        "that joined before the start restores it onto its own disk, checking every frame. Start the receivers (each " +
        "booted from this stick, choice 2) before the sender (choice 1); a machine that comes after the start is not " +
        "admitted. All machines must be on the same network segment.";

    public override void OnShown()
    {
        _list.SetFocus();
        _list.SelectedItem ??= 0;
    }

    public override bool OnScreenKey(Key key)
    {
        for (int i = 0; i < _choices.Length; i++)
        {
            if (key == (Key)(char)('1' + i))
            {
                _choices[i]();
                return true;
            }
        }
        return false;
    }
}
