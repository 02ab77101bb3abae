using System.Text;
using Terminal.Gui.Configuration;
using Terminal.Gui.ViewBase;

namespace LiveImager.Tui;

/// <summary>Glyphs every console font has: the Linux console's fonts and serial terminals lack the shapes Terminal.Gui draws buttons and bars with.</summary>
internal static class ConsoleGlyphs
{
    public static void Apply()
    {
        GlyphSettings.Current = GlyphSettings.Current with
        {
            LeftBracket = new Rune('['),
            RightBracket = new Rune(']'),
            LeftDefaultIndicator = new Rune('>'),
            RightDefaultIndicator = new Rune('<'),
            ContinuousMeterSegment = new Rune('#'),
            BlocksMeterSegment = new Rune('#'),
        };
        ButtonSettings.Current = ButtonSettings.Current with { DefaultShadow = ShadowStyles.None };
        WindowSettings.Current = WindowSettings.Current with { DefaultShadow = ShadowStyles.None };
    }
}
