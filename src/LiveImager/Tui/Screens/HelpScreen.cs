using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>F1: what the screen below does and the keys that work everywhere.</summary>
internal sealed class HelpScreen : Screen
{
    private const string CommonKeys =
        "Keys on every screen:\n" +
        "  Tab / Shift+Tab   move between fields\n" +
        "  Up / Down         move in a list\n" +
        "  Enter             choose, or go to the next step\n" +
        "  Esc               go back one step (nothing is started by going back)\n" +
        "  F1                this help";

    private readonly string _text;

    public HelpScreen(string screenTitle, string text)
        : base("Help")
    {
        _text = text;
        var body = new TextBlock($"{screenTitle}\n\n{text}\n\n{CommonKeys}") { X = 2, Y = 1, Width = Dim.Fill(2) };
        Add(body);
    }

    public override string HelpText => _text;
}
