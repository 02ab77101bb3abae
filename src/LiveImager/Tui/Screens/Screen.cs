using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;

namespace LiveImager.Tui.Screens;

/// <summary>One full-window screen of the TUI; the <see cref="ScreenHost"/> stacks them and routes Esc and F1.</summary>
internal abstract class Screen : View
{
    private ScreenHost? _host;

    protected Screen(string title)
    {
        Title = title;
        Width = Dim.Fill();
        Height = Dim.Fill();
        CanFocus = true;
    }

    /// <summary>What F1 shows for this screen.</summary>
    public abstract string HelpText { get; }

    /// <summary>The host this screen was pushed onto.</summary>
    protected ScreenHost Host => _host ?? throw new InvalidOperationException($"{GetType().Name} is not shown.");

    internal void Attach(ScreenHost host) => _host = host;

    /// <summary>Called when the screen becomes the top one, first or again after the one above it closed.</summary>
    public virtual void OnShown()
    {
        SetFocus();
    }

    /// <summary>Esc pressed: return true when the screen handled it itself (a wizard stepping back), false to close it.</summary>
    public virtual bool OnBack() => false;

    /// <summary>A key before the focused view sees it; return true when the screen acted on it.</summary>
    public virtual bool OnScreenKey(Key key) => false;
}
