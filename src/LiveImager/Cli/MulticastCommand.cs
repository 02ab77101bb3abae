using System.CommandLine;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Multicast;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary><c>liveimager multicast IMAGE [--interface IF] [--portbase P] [--min-receivers N] [--max-wait S]
/// [--join-timeout S] [--max-bitrate R] [--fec F] [--retries-until-drop N]</c>: one multicast stream of the image to every machine running
/// <c>liveimager restore multicast://…</c> (docs/multicast.md).</summary>
internal static class MulticastCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "The image to send: a path or a store URL" };
        var networkInterface = new Option<string?>("--interface") { Description = "The network interface to send on (default: the default route's)" };
        var portBase = new Option<int>("--portbase")
        {
            Description = $"udpcast's port base; receivers use the same (multicast://IF:PORTBASE); default {MulticastAddress.DefaultPortBase}",
            DefaultValueFactory = _ => MulticastAddress.DefaultPortBase,
        };
        var minReceivers = new Option<int?>("--min-receivers") { Description = "Start as soon as this many receivers have joined" };
        var maxWait = new Option<int?>("--max-wait") { Description = "Seconds to wait for receivers before starting with those that joined" };
        var joinTimeout = new Option<int?>("--join-timeout")
        {
            Description = $"Give up, sending nothing, when no receiver has joined within this many seconds (default {MulticastSender.DefaultJoinTimeout.TotalSeconds:0})",
        };
        var maxBitrate = new Option<string?>("--max-bitrate") { Description = "Limit the rate, as udpcast writes it: 600m is 600 Mbit/s" };
        var fec = new Option<string?>("--fec") { Description = "Forward error correction, as udpcast writes it: STRIPESxREDUNDANCY[/STRIPESIZE], e.g. 8x8/128" };
        var retries = new Option<int?>("--retries-until-drop")
        {
            Description = "Drop a receiver that has not answered this many retransmission rounds (udpcast's default: 200)",
        };
        var command = new Command("multicast", "Send an image to many machines at once over multicast (they run restore multicast://…)")
        {
            image, networkInterface, portBase, minReceivers, maxWait, joinTimeout, maxBitrate, fec, retries,
        };
        var store = new StoreCliOptions();
        store.AddTo(command);
        command.SetAction(parse =>
        {
            string? name = parse.GetValue(networkInterface);
            return Run(parse.GetRequiredValue(image), name, parse.GetValue(portBase), parse.GetValue(minReceivers), parse.GetValue(maxWait),
                parse.GetValue(joinTimeout), parse.GetValue(maxBitrate), parse.GetValue(fec), parse.GetValue(retries), () => store.Build(parse), parse.InvocationConfiguration.Error);
        });
        return command;
    }

    private static int Run(string argument, string? networkInterface, int portBase, int? minReceivers, int? maxWait, int? joinTimeout, string? maxBitrate, string? fec,
        int? retries, Func<StoreOptions> storeOptions, TextWriter error) => CliErrors.Run("multicast", error, () =>
    {
        if (portBase is < 1 or > 65534)
        {
            throw new ImagingException($"--portbase {portBase} is not from 1 to 65534");
        }
        string? name = networkInterface is null ? null : MulticastAddress.CheckInterface(networkInterface, "--interface");
        var address = new MulticastAddress(name, portBase);
        var pending = new MulticastSendOptions(argument, address, minReceivers, maxWait is { } wait ? TimeSpan.FromSeconds(wait) : null,
            maxBitrate, fec, retries, joinTimeout is { } join ? TimeSpan.FromSeconds(join) : null);
        // Before a store is mounted: a wrong option is not worth a mount.
        MulticastSender.Validate(pending);
        using StoreImage source = StoreImage.Open(argument, storeOptions(), forWriting: false);
        using var cancellation = new CliCancellation();
        var sender = new MulticastSender(pending with { Image = source.Path });
        string start = (minReceivers, maxWait) switch
        {
            ({ } n, { } s) => $"when {n} receivers have joined or {s} s after the first",
            ({ } n, null) => $"when {n} receivers have joined",
            _ => $"{maxWait} s after the first receiver joins",
        };
        error.WriteLine($"multicast: checked {argument}; waiting for receivers on {address} (they run: liveimager restore {address} TARGET --yes); " +
            $"the transfer starts {start}; with no receiver after {(pending.JoinTimeout ?? MulticastSender.DefaultJoinTimeout).TotalSeconds:0} s it gives up");
        long lastShown = 0;
        sender.Message += line =>
        {
            switch (line.Event)
            {
                case UdpcastEvent.Joined:
                    error.WriteLine($"multicast: receiver #{line.Receiver} joined from {line.Address}");
                    break;
                case UdpcastEvent.Started:
                    error.WriteLine("multicast: transfer started");
                    break;
                case UdpcastEvent.Progress when line.Bytes - lastShown >= 256L << 20:
                    lastShown = line.Bytes;
                    error.WriteLine($"multicast: {ByteSize.Format(line.Bytes)} sent");
                    break;
                case UdpcastEvent.Dropped:
                    error.WriteLine($"multicast: receiver #{line.Receiver} DROPPED: it stopped answering");
                    break;
            }
        };
        MulticastSendResult result = sender.Run(cancellation.Token);
        foreach (MulticastReceiverResult receiver in result.Receivers)
        {
            error.WriteLine($"multicast: receiver #{receiver.Number} {receiver.Address}: {receiver.Describe()}");
        }
        if (result.Cancelled)
        {
            error.WriteLine("multicast: cancelled");
            return CliErrors.Cancelled;
        }
        if (result.Problem is { } problem)
        {
            throw new ImagingException(problem);
        }
        error.WriteLine($"multicast: {result.Summary(ByteSize.Format)}");
        // Each receiver checks every frame and reports its own restore; the sender knows only who received the stream.
        return result.Finished == result.Receivers.Count ? 0 : CliErrors.Failed;
    });
}
