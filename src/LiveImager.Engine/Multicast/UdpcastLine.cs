using System.Globalization;
using System.Text.RegularExpressions;

namespace LiveImager.Engine.Multicast;

/// <summary>What one line of udp-sender's or udp-receiver's messages says.</summary>
public enum UdpcastEvent
{
    /// <summary>Anything not recognised: kept for the log and the explanation of a failure, never acted on.</summary>
    Other,

    /// <summary>Sender: "New connection from 10.0.0.2  (#0) 00000009".</summary>
    Joined,

    /// <summary>Sender: "Starting transfer: 00000009".</summary>
    Started,

    /// <summary>Sender: "bytes= 21 036 288  re-xmits=0001483 ( 10.2%) …"; receiver: "bytes= 21 199 360  (335.23 Mbps)".</summary>
    Progress,

    /// <summary>Sender: "Dropping client #0 because of timeout".</summary>
    Dropped,

    /// <summary>Sender: "Disconnecting #0 (10.0.0.2)".</summary>
    Disconnected,

    /// <summary>Both: "Transfer complete.".</summary>
    Complete,

    /// <summary>Receiver: "Connected as #0 to 10.0.0.1".</summary>
    Connected,

    /// <summary>Receiver: "Receiver timeout", after which udp-receiver still says "Transfer complete." of a cut stream.</summary>
    TimedOut,
}

/// <summary>One line of udpcast's messages (udpcast 20120424, as Debian ships it), parsed. udpcast writes its progress
/// with carriage returns, so the caller splits on both '\r' and '\n'. Numbers are bounded by the patterns (a receiver
/// number has at most 5 digits, byte counts at most 20).</summary>
/// <param name="Receiver">The receiver's number in the session (#N), or -1.</param>
/// <param name="Address">The peer's IPv4 address, or null.</param>
/// <param name="Bytes">Bytes sent or received so far, or -1.</param>
/// <param name="Retransmits">Sender: blocks sent again so far, or -1.</param>
public sealed partial record UdpcastLine(UdpcastEvent Event, string Text, int Receiver = -1, string? Address = null, long Bytes = -1,
    long Retransmits = -1)
{
    public static UdpcastLine Parse(string text)
    {
        string line = text.Trim().Replace("\a", string.Empty, StringComparison.Ordinal);
        if (JoinedPattern().Match(line) is { Success: true } joined)
        {
            return new UdpcastLine(UdpcastEvent.Joined, line, Number(joined.Groups[2].Value), joined.Groups[1].Value);
        }
        if (line.StartsWith("Starting transfer", StringComparison.Ordinal))
        {
            return new UdpcastLine(UdpcastEvent.Started, line);
        }
        if (ProgressPattern().Match(line) is { Success: true } progress)
        {
            string digits = progress.Groups[1].Value.Replace(" ", string.Empty, StringComparison.Ordinal);
            long bytes = digits.Length <= 18 ? long.Parse(digits, CultureInfo.InvariantCulture) : -1;
            long retransmits = progress.Groups[2].Success && progress.Groups[2].Value.Length <= 18
                ? long.Parse(progress.Groups[2].Value, CultureInfo.InvariantCulture) : -1;
            return new UdpcastLine(UdpcastEvent.Progress, line, Bytes: bytes, Retransmits: retransmits);
        }
        if (DroppedPattern().Match(line) is { Success: true } dropped)
        {
            return new UdpcastLine(UdpcastEvent.Dropped, line, Number(dropped.Groups[1].Value));
        }
        if (DisconnectedPattern().Match(line) is { Success: true } gone)
        {
            return new UdpcastLine(UdpcastEvent.Disconnected, line, Number(gone.Groups[1].Value), gone.Groups[2].Value);
        }
        if (line.StartsWith("Receiver timeout", StringComparison.Ordinal))
        {
            return new UdpcastLine(UdpcastEvent.TimedOut, line);
        }
        if (line.StartsWith("Transfer complete", StringComparison.Ordinal))
        {
            return new UdpcastLine(UdpcastEvent.Complete, line);
        }
        if (ConnectedPattern().Match(line) is { Success: true } connected)
        {
            return new UdpcastLine(UdpcastEvent.Connected, line, Number(connected.Groups[1].Value), connected.Groups[2].Value);
        }
        return new UdpcastLine(UdpcastEvent.Other, line);
    }

    /// <summary>Reads <paramref name="messages"/> to its end, one parsed line at a time (split on '\r' and '\n', lines
    /// cut at 1000 characters so a child cannot grow our memory).</summary>
    public static void ReadAll(TextReader messages, Action<UdpcastLine> onLine)
    {
        const int MaxLine = 1000;
        var line = new System.Text.StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = messages.Read(buffer, 0, buffer.Length)) > 0)
        {
            foreach (char c in buffer.AsSpan(0, read))
            {
                if (c is '\r' or '\n')
                {
                    if (line.Length > 0)
                    {
                        onLine(Parse(line.ToString()));
                        line.Clear();
                    }
                }
                else if (line.Length < MaxLine)
                {
                    line.Append(c);
                }
            }
        }
        if (line.Length > 0)
        {
            onLine(Parse(line.ToString()));
        }
    }

    private static int Number(string digits) => int.Parse(digits, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^New connection from (\d{1,3}(?:\.\d{1,3}){3})\s+\(#(\d{1,5})\)")]
    private static partial Regex JoinedPattern();

    [GeneratedRegex(@"^bytes=\s*(\d{1,3}(?: \d{3}){0,6})(?!\d)(?:\s+re-xmits=(\d{1,18}))?")]
    private static partial Regex ProgressPattern();

    [GeneratedRegex(@"^Dropping client #(\d{1,5})")]
    private static partial Regex DroppedPattern();

    [GeneratedRegex(@"^Disconnecting #(\d{1,5}) \((\d{1,3}(?:\.\d{1,3}){3})\)")]
    private static partial Regex DisconnectedPattern();

    [GeneratedRegex(@"^Connected as #(\d{1,5}) to (\d{1,3}(?:\.\d{1,3}){3})")]
    private static partial Regex ConnectedPattern();
}
