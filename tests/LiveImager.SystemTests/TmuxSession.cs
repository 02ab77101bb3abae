using System.Diagnostics;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>A program running in a detached tmux session of a fixed size, on a tmux server of its own: keys in with
/// <c>send-keys</c>, the screen out with <c>capture-pane</c>. Dispose kills the server, and with it the program.</summary>
public sealed class TmuxSession : IDisposable
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(100);

    private readonly string _socket = $"liveimager-test-{Guid.NewGuid():N}";

    private TmuxSession()
    {
    }

    /// <summary>Skips the calling test when tmux is not installed.</summary>
    public static void Require() => ExternalTool.Require("tmux", "tmux");

    /// <summary>Starts <paramref name="command"/> (run by the shell) in a new <paramref name="width"/>×<paramref name="height"/> session.</summary>
    public static TmuxSession Start(string command, int width, int height)
    {
        var session = new TmuxSession();
        // The pane stays after the program exits, so its last screen can still be read.
        session.Tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", width.ToString(), "-y", height.ToString(), command);
        session.Tmux("set-option", "-t", "main", "remain-on-exit", "on");
        return session;
    }

    /// <summary>Sends tmux key names (Enter, Down, Escape) or single characters.</summary>
    public void Keys(params string[] keys) => Tmux(["send-keys", "-t", "main", .. keys]);

    /// <summary>Types <paramref name="text"/> literally.</summary>
    public void Type(string text) => Tmux("send-keys", "-t", "main", "-l", text);

    /// <summary>The pane's text now.</summary>
    public string Screen => Tmux("capture-pane", "-p", "-t", "main");

    /// <summary>Polls the screen until <paramref name="condition"/> holds; fails with the last screen after <paramref name="timeout"/>.</summary>
    public string WaitFor(Func<string, bool> condition, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string screen = Screen;
            if (condition(screen))
            {
                return screen;
            }
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Waited {timeout.TotalSeconds:0} s for {what}. Screen:\n{screen}");
            }
            Thread.Sleep(s_poll);
        }
    }

    public string WaitForText(string text, TimeSpan timeout) =>
        WaitFor(screen => screen.Contains(text, StringComparison.Ordinal), $"'{text}'", timeout);

    public void Dispose() => ExternalTool.RunUnchecked("tmux", null, "-L", _socket, "kill-server");

    private string Tmux(params string[] args) => ExternalTool.Run("tmux", ["-L", _socket, .. args]);
}
