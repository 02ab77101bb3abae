using System.Text;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Views;

/// <summary>Read-only text that wraps at word boundaries and shows '_' as itself: disk models, serials and paths contain it.</summary>
internal sealed class TextBlock : Label
{
    public TextBlock()
    {
        // A label would take '_' as the mark of a hot key and hide it.
        HotKeySpecifier = new Rune(0xFFFF);
        TextFormatter.WordWrap = true;
    }

    /// <summary>Prose that fills the space it is given.</summary>
    public TextBlock(string text)
        : this()
    {
        Width = Dim.Fill();
        Height = Dim.Fill();
        Text = text;
    }
}
