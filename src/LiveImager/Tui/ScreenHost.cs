using LiveImager.Tui.Views;
using LiveImager.Tui.Screens;
using Terminal.Gui.App;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui;

/// <summary>The one window of the TUI: a stack of screens, a title trail and a key line; Esc goes back, F1 helps.</summary>
internal sealed class ScreenHost : Window
{
    private readonly Stack<Screen> _screens = new();
    private readonly View _body;
    private readonly TextBlock _keyLine;

    public ScreenHost(IApplication app, TuiServices services)
    {
        RunningApp = app;
        Services = services;
        Title = "LiveImager";
        _body = new View { X = 0, Y = 0, Width = Dim.Fill(), Height = Dim.Fill(1), CanFocus = true };
        _keyLine = new TextBlock { X = 0, Y = Pos.AnchorEnd(1), Width = Dim.Fill(), Text = "F1 Help   Esc Back" };
        Add(_body, _keyLine);
        app.Keyboard.KeyDown += OnApplicationKeyDown;
    }

    /// <summary>The application this window runs in; screens post background results through its Invoke.</summary>
    public IApplication RunningApp { get; }

    public TuiServices Services { get; }

    /// <summary>What the technician asked for when the TUI stopped.</summary>
    public TuiExit Exit { get; private set; } = TuiExit.Quit;

    public Screen Top => _screens.Peek();

    public int Depth => _screens.Count;

    public void Push(Screen screen)
    {
        if (_screens.TryPeek(out Screen? current))
        {
            _body.Remove(current);
        }
        screen.Attach(this);
        _screens.Push(screen);
        ShowTop();
    }

    /// <summary>Closes the top screen and shows the one below it; the first screen is never closed this way.</summary>
    public void Pop()
    {
        if (_screens.Count <= 1)
        {
            return;
        }
        Screen closed = _screens.Pop();
        _body.Remove(closed);
        closed.Dispose();
        ShowTop();
    }

    /// <summary>Closes screens until <typeparamref name="T"/> is on top (the main menu after a job's result).</summary>
    public void PopTo<T>() where T : Screen
    {
        while (_screens.Count > 1 && Top is not T)
        {
            Pop();
        }
    }

    /// <summary>Replaces the top screen, so Esc from the new one skips the old (a progress screen becomes its result).</summary>
    public void Replace(Screen screen)
    {
        Screen closed = _screens.Pop();
        _body.Remove(closed);
        closed.Dispose();
        Push(screen);
    }

    /// <summary>Stops the TUI with the given request; Program carries it out once the terminal is restored.</summary>
    public void Stop(TuiExit exit)
    {
        Exit = exit;
        RunningApp.RequestStop(this);
    }

    /// <summary>Esc: the screen steps back inside itself, or closes; on the first screen it asks before quitting.</summary>
    public void Back()
    {
        if (Top.OnBack())
        {
            return;
        }
        if (_screens.Count > 1)
        {
            Pop();
            return;
        }
        Push(new ConfirmScreen("Quit", "Leave LiveImager and return to the console?", "Quit", () => Stop(TuiExit.Quit)));
    }

    private void ShowTop()
    {
        Screen top = _screens.Peek();
        Title = string.Join(" > ", _screens.Reverse().Skip(1).Select(s => s.Title).Prepend("LiveImager"));
        _body.Add(top);
        top.OnShown();
        SetNeedsDraw();
    }

    private void OnApplicationKeyDown(object? sender, Key key)
    {
        if (key.Handled || RunningApp.TopRunnableView != this || _screens.Count == 0)
        {
            return;
        }
        if (key == Key.Esc)
        {
            Back();
            key.Handled = true;
        }
        else if (key == Key.F1)
        {
            if (Top is not HelpScreen)
            {
                Push(new HelpScreen(Top.Title, Top.HelpText));
            }
            key.Handled = true;
        }
        else if (Top.OnScreenKey(key))
        {
            key.Handled = true;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            RunningApp.Keyboard.KeyDown -= OnApplicationKeyDown;
            while (_screens.Count > 0)
            {
                Screen screen = _screens.Pop();
                _body.Remove(screen);
                screen.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
