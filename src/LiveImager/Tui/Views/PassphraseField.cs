using Terminal.Gui.Views;

namespace LiveImager.Tui.Views;

/// <summary>The one masked field every screen types a passphrase into: capture's (twice) and an encrypted image's.</summary>
internal static class PassphraseField
{
    public static TextField Create(int x, int y) => new() { X = x, Y = y, Width = 30, Secret = true };
}
