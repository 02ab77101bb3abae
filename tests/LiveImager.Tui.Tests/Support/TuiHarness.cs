using System.Diagnostics;
using LiveImager.Tui;
using Terminal.Gui.App;
using Terminal.Gui.Drivers;
using Terminal.Gui.Input;
using Terminal.Gui.Testing;
using Terminal.Gui.Time;

namespace LiveImager.Tui.Tests.Support;

/// <summary>The real TUI on Terminal.Gui's ANSI driver at 80x25 without a terminal: keys in, screen text out.</summary>
internal sealed class TuiHarness : IDisposable
{
    private readonly IApplication _app;

    public TuiHarness(TuiServices services)
    {
        _app = Application.Create(new VirtualTimeProvider());
        _app.Init(DriverRegistry.Names.ANSI);
        _app.Driver!.SetScreenSize(80, 25);
        Services = services;
        Host = TuiApp.CreateHost(_app, services);
        _app.Begin(Host);
        _app.LayoutAndDraw(true);
    }

    public TuiServices Services { get; }

    public ScreenHost Host { get; }

    /// <summary>The 80x25 screen as text, after posted updates have run.</summary>
    public string Screen
    {
        get
        {
            _app.TimedEvents!.RunTimers();
            _app.LayoutAndDraw(true);
            return _app.Driver!.ToString() ?? "";
        }
    }

    public void Press(Key key)
    {
        _app.InjectKey(key);
        _app.TimedEvents!.RunTimers();
        _app.LayoutAndDraw(true);
    }

    public void Type(string text)
    {
        foreach (char c in text)
        {
            _app.InjectKey(c);
        }
        _app.LayoutAndDraw(true);
    }

    /// <summary>Runs what background work posted to the UI until the condition holds; background tasks run on real threads.</summary>
    public void WaitFor(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            _app.TimedEvents!.RunTimers();
            _app.LayoutAndDraw(true);
            if (condition())
            {
                return;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"Waited 10 s for {what}. Screen:\n{Screen}");
            }
            Thread.Sleep(5);
        }
    }

    /// <summary>Asserts the screen shows the text, and shows the whole screen when it does not.</summary>
    public void AssertShows(string text)
    {
        string screen = Screen;
        Xunit.Assert.True(screen.Contains(text, StringComparison.Ordinal), $"The screen does not show '{text}':\n{screen}");
    }

    public void WaitForText(string text) => WaitFor(() => Screen.Contains(text, StringComparison.Ordinal), $"'{text}'");

    public void Dispose()
    {
        Host.Dispose();
        _app.Dispose();
    }
}
