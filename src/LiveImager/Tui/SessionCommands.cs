using System.Diagnostics;
using LiveImager.Engine.Targets;

namespace LiveImager.Tui;

/// <summary>What the TUI hands to the console once it has stopped: a root shell, reboot, power off.</summary>
internal static class SessionCommands
{
    /// <summary>Runs the login shell on this terminal and waits for it; the TUI starts again afterwards.</summary>
    public static void RunShell()
    {
        string shell = Environment.GetEnvironmentVariable("SHELL") is { Length: > 0 } s && File.Exists(s) ? s : "/bin/bash";
        Console.WriteLine("LiveImager: type 'exit' to return to the menu.");
        try
        {
            var start = new ProcessStartInfo(shell, "-l") { UseShellExecute = false };
            StoreTools.Sanitize(start);
            using Process? process = Process.Start(start);
            process?.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.Error.WriteLine($"LiveImager: {shell} could not be started: {ex.Message}");
            Thread.Sleep(TimeSpan.FromSeconds(3));
        }
    }

    /// <summary>Asks systemd to reboot or power off; returns its exit code, so a refusal is visible.</summary>
    public static int Power(string verb)
    {
        try
        {
            var start = new ProcessStartInfo(StoreTools.Find("systemctl") ?? "/usr/bin/systemctl", verb) { UseShellExecute = false };
            StoreTools.Sanitize(start);
            using Process? process = Process.Start(start);
            process?.WaitForExit();
            return process?.ExitCode ?? 1;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.Error.WriteLine($"LiveImager: systemctl {verb} could not be started: {ex.Message}");
            return 1;
        }
    }
}
