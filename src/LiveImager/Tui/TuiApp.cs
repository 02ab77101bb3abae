using LiveImager.Tui.Screens;
using Terminal.Gui.App;
using Terminal.Gui.Drivers;

namespace LiveImager.Tui;

/// <summary>Runs the TUI until the technician quits, carrying out Shell, Reboot and Power off with the terminal restored.</summary>
internal static class TuiApp
{
    public static int Run(TuiServices services)
    {
        // Any screen may take a passphrase (capture, restore, verify, browse): no core dump from here on.
        Engine.Imaging.CoreDumps.Forbid();
        while (true)
        {
            TuiExit exit = RunOnce(services);
            if (exit == TuiExit.Shell)
            {
                // The store stays mounted across a trip to the shell.
                SessionCommands.RunShell();
                continue;
            }
            services.Session.Dispose();
            return exit switch
            {
                TuiExit.Reboot => SessionCommands.Power("reboot"),
                TuiExit.PowerOff => SessionCommands.Power("poweroff"),
                _ => 0,
            };
        }
    }

    /// <summary>The window with the main menu on it, ready for <c>Begin</c> (tests) or <c>Run</c>.</summary>
    public static ScreenHost CreateHost(IApplication app, TuiServices services)
    {
        ConsoleGlyphs.Apply();
        var host = new ScreenHost(app, services);
        host.Push(new MainMenuScreen(services));
        return host;
    }

    private static TuiExit RunOnce(TuiServices services)
    {
        using IApplication app = Application.Create();
        // The ANSI driver polls stdin and stops reading when the app ends; a blocking reader would eat the first line typed into the shell.
        app.Init(DriverRegistry.Names.ANSI);
        // The Linux console and serial terminals show 16 colours; only terminals that say so get more.
        if (!Environment.GetEnvironmentVariable("TERM")?.Contains("256color", StringComparison.Ordinal) == true
            && Environment.GetEnvironmentVariable("COLORTERM") is not ("truecolor" or "24bit"))
        {
            app.Driver!.Force16Colors = true;
        }
        using ScreenHost host = CreateHost(app, services);
        app.Run(host);
        return host.Exit;
    }
}
