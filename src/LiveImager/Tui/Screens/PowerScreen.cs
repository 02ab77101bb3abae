using LiveImager.Tui.Views;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>Reboot or power off, each confirmed first.</summary>
internal sealed class PowerScreen : Screen
{
    private readonly Button _reboot;

    public PowerScreen()
        : base("Reboot / Power off")
    {
        var text = new TextBlock { X = 2, Y = 1, Text = "Running jobs are stopped. Remove the stick to boot the installed system." };
        _reboot = new Button { X = 2, Y = 3, Text = "_Reboot" };
        var powerOff = new Button { X = Pos.Right(_reboot) + 2, Y = 3, Text = "_Power off" };
        _reboot.Accepting += (_, e) => { e.Handled = true; Ask(TuiExit.Reboot); };
        powerOff.Accepting += (_, e) => { e.Handled = true; Ask(TuiExit.PowerOff); };
        Add(text, _reboot, powerOff);
    }

    public override string HelpText => "R reboots, P powers off; each asks once more before it happens. Esc goes back.";

    public override void OnShown() => _reboot.SetFocus();

    public override bool OnScreenKey(Key key)
    {
        if (key == Key.R || key == Key.R.WithShift)
        {
            Ask(TuiExit.Reboot);
            return true;
        }
        if (key == Key.P || key == Key.P.WithShift)
        {
            Ask(TuiExit.PowerOff);
            return true;
        }
        return false;
    }

    private void Ask(TuiExit exit)
    {
        string verb = exit == TuiExit.Reboot ? "Reboot" : "Power off";
        Host.Push(new ConfirmScreen(verb, $"{verb} this machine now?", verb, () => Host.Stop(exit)));
    }
}
