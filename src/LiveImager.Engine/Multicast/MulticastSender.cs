using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Multicast;

/// <summary>What to send, and when to start.</summary>
/// <param name="Image">An image file (any volume layout) or a store image URL that <see cref="ImageInput"/> opens.</param>
/// <param name="MinReceivers">Start as soon as this many receivers have joined.</param>
/// <param name="MaxWait">Start this long after the first receiver joined, even with fewer than <paramref name="MinReceivers"/>.</param>
/// <param name="MaxBitrate">udpcast's --max-bitrate as typed (600m = 600 Mbit/s), or null for no limit.</param>
/// <param name="Fec">udpcast's --fec STRIPESxREDUNDANCY[/STRIPESIZE], or null.</param>
/// <param name="RetriesUntilDrop">Unanswered retransmission rounds after which a receiver is dropped (udpcast's
/// default: 200), so one dead machine cannot stall the others for long.</param>
/// <param name="JoinTimeout">Give up, sending nothing, when no receiver has joined this long after the session opened
/// (null: <see cref="MulticastSender.DefaultJoinTimeout"/>). udpcast's own --start-timeout cannot serve: it also ends a
/// session whose receivers joined but whose start is still pending, silently and with exit code 0.</param>
public sealed record MulticastSendOptions(string Image, MulticastAddress Address, int? MinReceivers, TimeSpan? MaxWait, string? MaxBitrate = null,
    string? Fec = null, int? RetriesUntilDrop = null, TimeSpan? JoinTimeout = null);

/// <summary>How one receiver's session ended, as the sender saw it.</summary>
public enum MulticastReceiverOutcome
{
    /// <summary>It acknowledged the whole stream.</summary>
    Finished,

    /// <summary>The sender dropped it after --retries-until-drop unanswered rounds.</summary>
    Dropped,

    /// <summary>It disconnected before the transfer ended.</summary>
    LeftEarly,

    /// <summary>The sender stopped (failed or cancelled) while it was still connected.</summary>
    Unfinished,
}

/// <summary>One receiver of a session.</summary>
/// <param name="Number">udpcast's number for it (#N).</param>
public sealed record MulticastReceiverResult(int Number, string Address, MulticastReceiverOutcome Outcome)
{
    /// <summary>The outcome as the sender's summary words it, for the command line and the TUI alike.</summary>
    public string Describe() => Outcome switch
    {
        MulticastReceiverOutcome.Finished => "received everything",
        MulticastReceiverOutcome.Dropped => "DROPPED (stopped answering)",
        MulticastReceiverOutcome.LeftEarly => "LEFT before the end",
        _ => "UNFINISHED (the sender stopped)",
    };
}

/// <summary>How a session went.</summary>
/// <param name="Completed">udp-sender sent the whole image and reported the transfer complete.</param>
/// <param name="Problem">Why the session failed, in plain words, or null.</param>
/// <param name="NobodyJoined">The join timeout passed with no receiver: nothing was sent.</param>
public sealed record MulticastSendResult(IReadOnlyList<MulticastReceiverResult> Receivers, long ImageBytes, long SentBytes, long Retransmits,
    TimeSpan Elapsed, TimeSpan Transfer, bool Completed, bool Cancelled, string? Problem, bool NobodyJoined = false)
{
    public bool Succeeded => Completed && !Cancelled && Receivers.Any(r => r.Outcome == MulticastReceiverOutcome.Finished);

    /// <summary>The receivers that took the whole stream.</summary>
    public int Finished => Receivers.Count(r => r.Outcome == MulticastReceiverOutcome.Finished);

    /// <summary>"31.2 MB sent to 2 of 3 receivers in 7.9 s (3.9 MB/s), 18 blocks sent again", sizes written by <paramref name="size"/>.</summary>
    public string Summary(Func<double, string> size)
    {
        double seconds = Math.Max(Transfer.TotalSeconds, 0.001);
        return string.Create(CultureInfo.InvariantCulture, $"{size(ImageBytes)} sent to {Finished} of {Receivers.Count} receivers in " +
            $"{Transfer.TotalSeconds:F1} s ({size(ImageBytes / seconds)}/s), {Retransmits} blocks sent again");
    }
}

/// <summary>Sends one image to every receiver that joins, as one multicast stream through Debian's <c>udp-sender</c>:
/// the image is checked (header, metadata, footer, index and every frame header) before the session opens, then its
/// logical stream (split volumes joined, as restore reads a pipe) goes to udp-sender's standard input.</summary>
public sealed partial class MulticastSender(MulticastSendOptions options)
{
    /// <summary>How long a session waits for its first receiver unless told otherwise: long enough to walk round a lab
    /// switching machines on, bounded so an unattended sender nobody joins ends with a message instead of waiting forever.</summary>
    public static readonly TimeSpan DefaultJoinTimeout = TimeSpan.FromMinutes(30);

    private readonly object _lock = new();
    private readonly List<(int Number, string Address, MulticastReceiverOutcome? Outcome)> _receivers = [];

    /// <summary>Raised from a reader thread for every recognised line of udp-sender: a receiver joined, the transfer
    /// started, progress, a receiver dropped or disconnected, the transfer completed.</summary>
    public event Action<UdpcastLine>? Message;

    /// <summary>The image's stream length, known once it is checked and before udp-sender starts (0 until then).</summary>
    public long ImageBytes { get; private set; }

    /// <summary>Refuses options udp-sender would misread: each value has the shape udpcast documents, so none reads as
    /// another option.</summary>
    public static void Validate(MulticastSendOptions options)
    {
        if (options.MinReceivers is null && options.MaxWait is null)
        {
            throw new ImagingException("say when to start: --min-receivers N, --max-wait SECONDS, or both");
        }
        if (options.MinReceivers is < 1 or > 1000)
        {
            throw new ImagingException($"--min-receivers {options.MinReceivers} is not from 1 to 1000");
        }
        if (options.MaxWait is { } wait && (wait < TimeSpan.FromSeconds(1) || wait > TimeSpan.FromDays(1)))
        {
            throw new ImagingException($"--max-wait {wait.TotalSeconds} s is not from 1 second to 1 day");
        }
        if (options.MaxBitrate is { } rate && !BitratePattern().IsMatch(rate))
        {
            throw new ImagingException($"--max-bitrate '{rate}' is not a rate as udpcast takes it: a number with k, m or g (bits per second), e.g. 600m");
        }
        if (options.JoinTimeout is { } join && (join < TimeSpan.FromSeconds(1) || join > TimeSpan.FromDays(1)))
        {
            throw new ImagingException($"--join-timeout {join.TotalSeconds} s is not from 1 second to 1 day");
        }
        if (options.Fec is { } fec && !FecPattern().IsMatch(fec))
        {
            throw new ImagingException($"--fec '{fec}' is not STRIPESxREDUNDANCY[/STRIPESIZE] as udpcast takes it, e.g. 8x8/128");
        }
        if (options.RetriesUntilDrop is < 1 or > 100000)
        {
            throw new ImagingException($"--retries-until-drop {options.RetriesUntilDrop} is not from 1 to 100000");
        }
        if (options.Image == "-")
        {
            throw new ImagingException("multicast sends an image file or a store's image, which it checks whole first; standard input cannot be checked ahead");
        }
    }

    /// <summary>udp-sender's arguments for <paramref name="options"/>; never a secret (the image is on standard input).</summary>
    public static IReadOnlyList<string> Arguments(MulticastSendOptions options)
    {
        var arguments = new List<string> { "--nokbd" };
        arguments.AddRange(options.Address.UdpcastArguments());
        if (options.MinReceivers is { } min)
        {
            arguments.AddRange(["--min-receivers", min.ToString(CultureInfo.InvariantCulture)]);
        }
        if (options.MaxWait is { } wait)
        {
            arguments.AddRange(["--max-wait", ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture)]);
        }
        if (options.MaxBitrate is { } rate)
        {
            arguments.AddRange(["--max-bitrate", rate]);
        }
        if (options.Fec is { } fec)
        {
            arguments.AddRange(["--fec", fec]);
        }
        if (options.RetriesUntilDrop is { } retries)
        {
            arguments.AddRange(["--retries-until-drop", retries.ToString(CultureInfo.InvariantCulture)]);
        }
        return arguments;
    }

    public MulticastSendResult Run(CancellationToken cancellationToken)
    {
        Validate(options);
        long imageBytes;
        // Checked whole before anyone joins: a damaged image is refused here, not found by every receiver at once.
        VolumeReaderStream volumes = ImageInput.OpenVolumes(options.Image);
        imageBytes = volumes.Length;
        ImageBytes = imageBytes;
        using (var whole = new ImageFile(volumes))
        {
            if (whole.Header.IsIncremental)
            {
                throw new ImagingException($"{options.Image} is an incremental image: the receivers would need its base images too. " +
                    "Consolidate it into a full image first (liveimager consolidate) and send that");
            }
            whole.CheckDataFrameHeaders(cancellationToken);
        }
        string program = StoreTools.Find("udp-sender")
            ?? throw new ImagingException("multicast needs udp-sender, which is not installed (apt-get install udpcast)");
        IReadOnlyList<string> arguments = Arguments(options);
        ProcessStartInfo info = StoreTools.PipedStart(program, arguments);

        using Stream input = ImageInput.Open(options.Image, standardInput: null);
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(info) ?? throw new ImagingException($"cannot start {program}");
        Log.Information("Multicast of {Image} ({Bytes} bytes) on {Address}: udp-sender {Arguments}", options.Image, imageBytes,
            options.Address.ToString(), string.Join(" ", arguments));
        long sent = 0;
        long retransmits = 0;
        bool complete = false;
        TimeSpan? started = null;
        TimeSpan? ended = null;
        var tail = new Queue<string>();
        Exception? feedError = null;
        var feeder = new Thread(() =>
        {
            try
            {
                using Stream stdin = process.StandardInput.BaseStream;
                input.CopyTo(stdin, 1 << 20);
            }
            catch (Exception e) when (e is IOException or DiskFormatException or ImagingException)
            {
                // udp-sender that stopped early closes its input: its own messages say why. A read error is ours.
                if (e is not IOException || !process.HasExited)
                {
                    feedError = e;
                    // Ending its input would make udp-sender finish a cut stream as if it were whole.
                    process.Kill(entireProcessTree: true);
                }
            }
        })
        { IsBackground = true, Name = "udp-sender input" };
        var messages = new Thread(() => UdpcastLine.ReadAll(process.StandardError, line =>
        {
            lock (_lock)
            {
                switch (line.Event)
                {
                    case UdpcastEvent.Joined:
                        _receivers.Add((line.Receiver, line.Address!, null));
                        Log.Information("Multicast: receiver #{Number} joined from {Address}", line.Receiver, line.Address);
                        break;
                    case UdpcastEvent.Started:
                        started = clock.Elapsed;
                        Log.Information("Multicast: transfer started with {Count} receivers", _receivers.Count(r => r.Outcome is null));
                        break;
                    case UdpcastEvent.Progress:
                        sent = Math.Max(sent, line.Bytes);
                        retransmits = Math.Max(retransmits, line.Retransmits);
                        break;
                    case UdpcastEvent.Dropped:
                        Settle(line.Receiver, null, MulticastReceiverOutcome.Dropped);
                        Log.Warning("Multicast: receiver #{Number} dropped: it stopped answering", line.Receiver);
                        break;
                    case UdpcastEvent.Disconnected:
                        Settle(line.Receiver, line.Address, complete ? MulticastReceiverOutcome.Finished : MulticastReceiverOutcome.LeftEarly);
                        break;
                    case UdpcastEvent.Complete:
                        complete = true;
                        ended = clock.Elapsed;
                        break;
                    default:
                        tail.Enqueue(line.Text);
                        if (tail.Count > 8)
                        {
                            tail.Dequeue();
                        }
                        Log.Information("udp-sender: {Line}", line.Text);
                        break;
                }
            }
            if (line.Event != UdpcastEvent.Other)
            {
                Message?.Invoke(line);
            }
        }))
        { IsBackground = true, Name = "udp-sender messages" };
        feeder.Start();
        messages.Start();
        process.StandardOutput.Close();
        bool cancelled = false;
        bool nobodyJoined = false;
        TimeSpan joinTimeout = options.JoinTimeout ?? DefaultJoinTimeout;
        using (cancellationToken.Register(() =>
        {
            cancelled = true;
            Stop(process);
        }))
        {
            if (!process.WaitForExit(joinTimeout))
            {
                lock (_lock)
                {
                    if (_receivers.Count == 0)
                    {
                        nobodyJoined = true;
                        Stop(process);
                    }
                }
            }
            process.WaitForExit();
        }
        messages.Join();
        input.Dispose();
        feeder.Join();
        lock (_lock)
        {
            string? problem = null;
            if (cancelled)
            {
                problem = "cancelled";
            }
            else if (nobodyJoined)
            {
                problem = $"no receiver joined on {options.Address} within {joinTimeout.TotalSeconds:0} s; nothing was sent " +
                    $"(start the receivers first, each running: liveimager restore {options.Address} TARGET --yes; or wait longer with --join-timeout)";
            }
            else if (feedError is not null)
            {
                problem = $"reading {options.Image} failed: {feedError.Message}";
            }
            else if (!complete)
            {
                problem = _receivers.Count == 0
                    ? $"no receiver joined on {options.Address} (udp-sender exit code {process.ExitCode}: {string.Join(" | ", tail)})"
                    : $"udp-sender stopped before the end (exit code {process.ExitCode}: {string.Join(" | ", tail)})";
            }
            IReadOnlyList<MulticastReceiverResult> receivers = [.. _receivers.Select(r =>
                new MulticastReceiverResult(r.Number, r.Address, r.Outcome ?? (complete ? MulticastReceiverOutcome.Finished : MulticastReceiverOutcome.Unfinished)))];
            foreach (MulticastReceiverResult receiver in receivers)
            {
                Log.Information("Multicast: receiver #{Number} at {Address}: {Outcome}", receiver.Number, receiver.Address, receiver.Outcome.ToString());
            }
            if (problem is not null)
            {
                Log.Error("Multicast of {Image} failed: {Problem}", options.Image, problem);
            }
            TimeSpan transfer = started is { } from ? (ended ?? clock.Elapsed) - from : TimeSpan.Zero;
            return new MulticastSendResult(receivers, imageBytes, complete ? imageBytes : sent, retransmits, clock.Elapsed, transfer, complete, cancelled,
                problem, nobodyJoined);
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
    }

    /// <summary>Gives the receiver with <paramref name="number"/> its outcome, once: a dropped receiver is also
    /// disconnected afterwards, and udpcast may reuse a number after a receiver left.</summary>
    private void Settle(int number, string? address, MulticastReceiverOutcome outcome)
    {
        int index = _receivers.FindLastIndex(r => r.Number == number && (address is null || r.Address == address));
        if (index >= 0 && _receivers[index].Outcome is null)
        {
            _receivers[index] = _receivers[index] with { Outcome = outcome };
        }
    }

    [GeneratedRegex(@"^\d{1,9}(\.\d{1,3})?[kKmMgG]?$")]
    private static partial Regex BitratePattern();

    [GeneratedRegex(@"^\d{1,3}x\d{1,3}(/\d{1,5})?$")]
    private static partial Regex FecPattern();
}
