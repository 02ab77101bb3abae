using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Views;

/// <summary>Read-only prose that wraps at word boundaries to the width it is given.</summary>
internal sealed class TextBlock : Label
{
    public TextBlock(string text)
    {
        Width = Dim.Fill();
        Height = Dim.Fill();
        TextFormatter.WordWrap = true;
        Text = text;
    }
}
