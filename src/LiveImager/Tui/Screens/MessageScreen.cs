using LiveImager.Tui.Views;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A screen that only says something, such as a part that is not available in this build; Esc goes back.</summary>
internal sealed class MessageScreen : Screen
{
    private readonly string _help;

    public MessageScreen(string title, string message, string help)
        : base(title)
    {
        _help = help;
        Add(new TextBlock(message + "\n\nPress Esc to go back.") { X = 2, Y = 2, Width = Dim.Fill(2) });
    }

    public override string HelpText => _help;

    /// <summary>The screen shown for a part whose Engine seam is not connected yet.</summary>
    public static MessageScreen NotAvailable(string title, string what) =>
        new(title, $"{what}: {TuiServices.NotAvailable}.", $"{what} is {TuiServices.NotAvailable}; nothing can be done here yet.");
}
