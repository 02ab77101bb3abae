using System.Diagnostics;
using System.Globalization;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats;
using Serilog;

namespace LiveImager.Engine.Multicast;

/// <summary>One multicast session received: Debian's <c>udp-receiver</c> as a child, its standard output read as this
/// stream (the image, front to back, as restore reads standard input). udp-receiver exits 0 and simply ends its output
/// when the sender stops or drops it, so this stream only ends; the image reader then names the frame the stream
/// stopped in, and <see cref="Explain"/> says what udpcast reported.</summary>
public sealed class MulticastReceiver : ForwardReadStream
{
    private const int TailLines = 8;

    private readonly Process _process;
    private readonly Thread _messages;
    private readonly Queue<string> _tail = new();
    private readonly object _lock = new();
    private bool _complete;
    private bool _timedOut;
    private bool _stopped;
    private string? _sender;
    private int _number = -1;
    private long _received;

    private MulticastReceiver(Process process, MulticastAddress address)
    {
        _process = process;
        Address = address;
        _messages = new Thread(ReadMessages) { IsBackground = true, Name = "udp-receiver messages" };
        _messages.Start();
    }

    public MulticastAddress Address { get; }

    /// <summary>True once udp-receiver has joined a sender's session.</summary>
    public bool Connected
    {
        get
        {
            lock (_lock)
            {
                return _sender is not null;
            }
        }
    }

    /// <summary>Starts <c>udp-receiver</c> on <paramref name="address"/>; it waits for a sender until the stream is
    /// read or disposed.</summary>
    public static MulticastReceiver Start(MulticastAddress address)
    {
        string program = StoreTools.Find("udp-receiver")
            ?? throw new ImagingException("restoring from multicast needs udp-receiver, which is not installed (apt-get install udpcast)");
        // --nokbd: there is no keyboard to start the transfer from; --receive-timeout: a dead sender ends the stream.
        // --start-timeout: a session that started without this machine never admits it.
        string[] arguments = ["--nokbd", .. address.UdpcastArguments(),
            "--receive-timeout", address.ReceiveTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            .. address.StartTimeoutSeconds is { } start ? ["--start-timeout", start.ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>()];
        ProcessStartInfo info = StoreTools.PipedStart(program, arguments);
        Process process = Process.Start(info) ?? throw new ImagingException($"cannot start {program}");
        process.StandardInput.Close();
        Log.Information("Multicast receiver started on {Address}: udp-receiver {Arguments}", address.ToString(), string.Join(" ", arguments));
        return new MulticastReceiver(process, address);
    }

    private void ReadMessages()
    {
        UdpcastLine.ReadAll(_process.StandardError, line =>
        {
            lock (_lock)
            {
                switch (line.Event)
                {
                    case UdpcastEvent.Connected:
                        _number = line.Receiver;
                        _sender = line.Address;
                        Log.Information("Multicast: connected as receiver #{Number} to the sender at {Sender}", line.Receiver, line.Address);
                        return;
                    case UdpcastEvent.Complete:
                        _complete = !_timedOut;
                        break;
                    case UdpcastEvent.TimedOut:
                        _timedOut = true;
                        break;
                    case UdpcastEvent.Progress:
                        _received = line.Bytes;
                        return;
                }
                _tail.Enqueue(line.Text);
                if (_tail.Count > TailLines)
                {
                    _tail.Dequeue();
                }
            }
            Log.Information("udp-receiver: {Line}", line.Text);
        });
    }

    public override int Read(Span<byte> buffer) => _process.StandardOutput.BaseStream.Read(buffer);

    /// <summary>What udpcast said about the session, for a restore that failed: whether it connected, whether the
    /// transfer completed, and its last messages.</summary>
    public string Explain()
    {
        Stop();
        lock (_lock)
        {
            if (_sender is null)
            {
                return $"udp-receiver never connected to a sender on {Address}" + (Address.StartTimeoutSeconds is { } start
                    ? $": no transfer admitted this machine within {start} s (a transfer that has started admits no late receiver)" : string.Empty);
            }
            string connection = $"udp-receiver was receiver #{_number} of the sender at {_sender}";
            string received = _received.ToString(CultureInfo.InvariantCulture);
            string end = _complete ? "it reported the transfer complete"
                : _timedOut ? $"it stopped without completing the transfer after {received} bytes: nothing came for {Address.ReceiveTimeoutSeconds} s " +
                              "(the sender stopped, or dropped this machine)"
                : $"it stopped without completing the transfer after {received} bytes";
            string tail = _tail.Count == 0 ? string.Empty : $" (its last messages: {string.Join(" | ", _tail)})";
            return $"{connection}; {end}{tail}";
        }
    }

    /// <summary>The error of a restore from this session whose image reader failed with <paramref name="e"/>: with no
    /// session joined, what udpcast saw and that nothing was written to <paramref name="targets"/> (the reader's
    /// "truncated header" would only mislead); else the reader's frame and position, then why udpcast's stream stopped.
    /// A damaged stream stays a damaged image (exit code 4) through its inner exception.</summary>
    public ImagingException Failure(Exception e, IReadOnlyList<string> targets)
    {
        bool connected = Connected;
        string explanation = Explain();
        return connected
            ? new ImagingException($"{e.Message}\n{explanation}", e is DiskFormatException ? e : e.InnerException ?? e)
            : new ImagingException($"{explanation}; nothing was written to {string.Join(" or ", targets)}");
    }

    /// <summary>Stops receiving at once (a cancelled restore): the stream ends, so a read blocked on it returns.</summary>
    public void Cancel()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // It has already exited or been disposed.
        }
    }

    /// <summary>Ends udp-receiver (killed if it still runs) and waits for its last messages; safe to call again.</summary>
    private void Stop()
    {
        lock (_process)
        {
            if (_stopped)
            {
                return;
            }
            _stopped = true;
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.WaitForExit();
            _messages.Join(TimeSpan.FromSeconds(5));
            _process.Dispose();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Stop();
        }
        base.Dispose(disposing);
    }
}
