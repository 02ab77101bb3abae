using System.CommandLine;
using System.Net;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Opening;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary><c>liveimager serve IMAGE [--socket PATH | --listen ADDR:PORT]</c>: the image's disk and partitions as
/// read-only NBD exports, until Ctrl-C or SIGTERM.</summary>
internal static class ServeCommand
{
    /// <summary>NBD's registered TCP port.</summary>
    private const int NbdPort = 10809;

    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "The image (its first volume when split): a path or a store URL" };
        var socket = new Option<string?>("--socket") { Description = "Listen on this Unix socket" };
        var listen = new Option<string?>("--listen")
        {
            Description = $"Listen on this TCP address and port (default 127.0.0.1:{NbdPort} when no --socket is given)",
        };
        var command = new Command("serve", "Serve an image's disk and partitions read-only over NBD, without restoring it")
        {
            image, socket, listen,
        };
        var store = new StoreCliOptions();
        store.AddTo(command);
        var passphrase = new PassphraseCliOptions();
        passphrase.AddTo(command);
        command.SetAction(parse => Run(parse.GetRequiredValue(image), parse.GetValue(socket), parse.GetValue(listen),
            () => store.Build(parse), path => passphrase.ForReading(parse, path, parse.InvocationConfiguration.Error),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string argument, string? socket, string? listen, Func<StoreOptions> storeOptions,
        Func<string, LiveImager.Formats.ImageFormat.ImagePassphrase?> passphraseFor, TextWriter output, TextWriter error) => CliErrors.Run("serve", error, () =>
    {
        if (socket is not null && listen is not null)
        {
            throw new ArgumentException("give --socket or --listen, not both");
        }
        IPEndPoint? endpoint = null;
        if (socket is null && !IPEndPoint.TryParse(listen ?? $"127.0.0.1:{NbdPort}", out endpoint))
        {
            throw new ArgumentException($"--listen {listen}: expected ADDRESS:PORT, such as 127.0.0.1:{NbdPort} or [::]:{NbdPort}");
        }
        using StoreImage source = StoreImage.Open(argument, storeOptions(), forWriting: false);
        using LiveImager.Formats.ImageFormat.ImagePassphrase? passphrase = passphraseFor(source.Path);
        using ImageDisk disk = ImageDisk.Open(source.Path, passphrase: passphrase);
        using NbdServer server = socket is not null ? NbdServer.ListenUnix(disk, socket) : NbdServer.ListenTcp(disk, endpoint!);
        using var cancellation = new CliCancellation();
        output.WriteLine($"serve: {argument}: read-only NBD exports at {server.Address} (Ctrl-C stops):");
        foreach (NbdExport export in server.Exports)
        {
            output.WriteLine($"  {export.Name,-6} {ByteSize.Format(export.Length),10}  {export.Description}  {server.UriOf(export.Name)}");
        }
        output.Flush();
        server.Serve(cancellation.Token);
        output.WriteLine($"serve: stopped after serving {ByteSize.Format(server.BytesServed)}");
        return 0;
    });
}
