using LiveImager.Tui.Views;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A yes/no question; Esc, N or the No button answer no and go back, so nothing happens by accident.</summary>
internal sealed class ConfirmScreen : Screen
{
    private readonly Action _onYes;
    private readonly Button _no;

    public ConfirmScreen(string title, string question, string yesLabel, Action onYes)
        : base(title)
    {
        _onYes = onYes;
        var text = new TextBlock { X = 2, Y = 2, Width = Dim.Fill(2), Text = question };
        var yes = new Button { X = 2, Y = 4, Text = $"_Yes, {yesLabel.ToLowerInvariant()}" };
        _no = new Button { X = Pos.Right(yes) + 2, Y = 4, Text = "_No", IsDefault = true };
        yes.Accepting += (_, e) => { e.Handled = true; Answer(true); };
        _no.Accepting += (_, e) => { e.Handled = true; Answer(false); };
        Add(text, yes, _no);
    }

    public override string HelpText => "Answer Y to go ahead, or N / Esc to go back without doing anything.";

    public override void OnShown() => _no.SetFocus();

    public override bool OnScreenKey(Key key)
    {
        if (key == Key.Y || key == Key.Y.WithShift)
        {
            Answer(true);
            return true;
        }
        if (key == Key.N || key == Key.N.WithShift)
        {
            Answer(false);
            return true;
        }
        return false;
    }

    private void Answer(bool yes)
    {
        ScreenHost host = Host;
        host.Pop();
        if (yes)
        {
            _onYes();
        }
    }
}
