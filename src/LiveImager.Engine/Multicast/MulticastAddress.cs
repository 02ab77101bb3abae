using LiveImager.Engine.Imaging;

namespace LiveImager.Engine.Multicast;

/// <summary>Where a multicast session runs:
/// <c>multicast://[INTERFACE][:PORTBASE][?receive-timeout=SECONDS][&amp;start-timeout=SECONDS]</c>, the receiver's image
/// argument (docs/multicast.md). udpcast uses PORTBASE and PORTBASE + 1; a sender and its receivers must agree on it.</summary>
/// <param name="Interface">The network interface (eth0), or null for the one udpcast picks (the default route's).</param>
/// <param name="ReceiveTimeoutSeconds">How long a receiver waits for data once the transfer has started before it
/// gives up (a dead sender, or this machine dropped).</param>
/// <param name="StartTimeoutSeconds">How long a receiver waits for a transfer to start before it gives up (a session
/// that started without it admits no late receiver), or null to wait for ever.</param>
public sealed record MulticastAddress(string? Interface, int PortBase, int ReceiveTimeoutSeconds = MulticastAddress.DefaultReceiveTimeoutSeconds,
    int? StartTimeoutSeconds = null)
{
    public const string Scheme = "multicast://";

    /// <summary>udpcast's own default port base.</summary>
    public const int DefaultPortBase = 9000;

    public const int DefaultReceiveTimeoutSeconds = 60;

    private const string ReceiveTimeoutKey = "receive-timeout";
    private const string StartTimeoutKey = "start-timeout";

    /// <summary>Linux's IFNAMSIZ (16) less the terminating NUL.</summary>
    private const int MaxInterfaceLength = 15;

    public static bool IsUrl(string text) => text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <paramref name="text"/>; throws <see cref="ImagingException"/> naming the bad part.</summary>
    public static MulticastAddress Parse(string text)
    {
        if (!IsUrl(text))
        {
            throw new ImagingException($"'{text}' is not a multicast address; write multicast://[INTERFACE][:PORTBASE], e.g. multicast://eth0");
        }
        string rest = text[Scheme.Length..];
        int timeout = DefaultReceiveTimeoutSeconds;
        int? startTimeout = null;
        int query = rest.IndexOf('?');
        if (query >= 0)
        {
            foreach (string pair in rest[(query + 1)..].Split('&'))
            {
                int equals = pair.IndexOf('=');
                string key = equals < 0 ? pair : pair[..equals];
                if (key is not (ReceiveTimeoutKey or StartTimeoutKey) || equals < 0
                    || !int.TryParse(pair[(equals + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int seconds)
                    || seconds < 1 || seconds > 86400)
                {
                    throw new ImagingException($"{text}: '{pair}' is not {ReceiveTimeoutKey}=SECONDS or {StartTimeoutKey}=SECONDS with 1 to 86400 seconds");
                }
                if (key == ReceiveTimeoutKey)
                {
                    timeout = seconds;
                }
                else
                {
                    startTimeout = seconds;
                }
            }
            rest = rest[..query];
        }
        int colon = rest.IndexOf(':');
        string name = colon < 0 ? rest : rest[..colon];
        int portBase = DefaultPortBase;
        if (colon >= 0)
        {
            string port = rest[(colon + 1)..];
            if (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out portBase)
                || portBase < 1 || portBase > 65534)
            {
                throw new ImagingException($"{text}: the port base '{port}' is not a number from 1 to 65534 (udpcast uses it and the next port)");
            }
        }
        return new MulticastAddress(name.Length == 0 ? null : CheckInterface(name, text), portBase, timeout, startTimeout);
    }

    /// <summary>Checks an interface name as the kernel would accept it, so that it cannot read as an option of udpcast.</summary>
    public static string CheckInterface(string name, string context)
    {
        if (name.Length > MaxInterfaceLength || name[0] == '-' || name is "." or ".."
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@'))
        {
            throw new ImagingException($"{context}: '{name}' is not a network interface name (letters, digits, - _ . @, at most " +
                $"{MaxInterfaceLength} characters; see ip link)");
        }
        return name;
    }

    /// <summary>udpcast's options for this address, shared by the sender and the receiver.</summary>
    public IEnumerable<string> UdpcastArguments()
    {
        if (Interface is not null)
        {
            yield return "--interface";
            yield return Interface;
        }
        yield return "--portbase";
        yield return PortBase.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override string ToString()
    {
        string?[] query = [ReceiveTimeoutSeconds == DefaultReceiveTimeoutSeconds ? null : $"{ReceiveTimeoutKey}={ReceiveTimeoutSeconds}",
            StartTimeoutSeconds is { } start ? $"{StartTimeoutKey}={start}" : null];
        string joined = string.Join('&', query.OfType<string>());
        return Scheme + Interface + (PortBase == DefaultPortBase ? string.Empty : $":{PortBase}") + (joined.Length == 0 ? string.Empty : "?" + joined);
    }
}
