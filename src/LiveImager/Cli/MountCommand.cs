using System.CommandLine;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Opening;
using LiveImager.Formats.ImageFormat;
using StoreImage = LiveImager.Engine.Targets.StoreImage;
using StoreOptions = LiveImager.Engine.Targets.StoreOptions;

namespace LiveImager.Cli;

/// <summary><c>liveimager mount IMAGE DIR</c> and <c>liveimager umount DIR</c>: every partition of an image mounted
/// read-only under DIR/p1, DIR/p2, …, and all of it undone.</summary>
internal static class MountCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "The image (its first volume when split): a path or a store URL" };
        var directory = new Argument<string>("dir") { Description = "The directory to mount the partitions under, as DIR/p1, DIR/p2, …" };
        var command = new Command("mount", "Mount every partition of an image read-only under DIR/p1, DIR/p2, … without restoring it")
        {
            image, directory,
        };
        var store = new StoreCliOptions();
        store.AddTo(command);
        var passphrase = new PassphraseCliOptions();
        passphrase.AddTo(command);
        command.SetAction(parse => Run(parse.GetRequiredValue(image), parse.GetRequiredValue(directory), () => store.Build(parse),
            path => passphrase.ForReading(parse, path, parse.InvocationConfiguration.Error),
            StoreArguments(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static Command CreateUnmount()
    {
        var directory = new Argument<string>("dir") { Description = "The directory an image was mounted under" };
        var command = new Command("umount", "Undo liveimager mount: unmount the partitions, detach loop devices, stop the server")
        {
            directory,
        };
        command.SetAction(parse => Unmount(parse.GetRequiredValue(directory), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>The store options as given, for the server process, which opens the store itself.</summary>
    internal static List<string> StoreArguments(ParseResult parse)
    {
        var arguments = new List<string>();
        foreach (string name in (string[])["--password-file", "--identity-file"])
        {
            if (parse.GetValue<string?>(name) is { } value)
            {
                arguments.AddRange([name, Path.GetFullPath(value)]);
            }
        }
        return arguments;
    }

    private static int Run(string argument, string directory, Func<StoreOptions> storeOptions,
        Func<string, ImagePassphrase?> passphraseFor, List<string> storeArguments, TextWriter output, TextWriter error) => CliErrors.Run("mount", error, () =>
    {
        ImageMetadata metadata;
        string served;
        ImagePassphrase? passphrase = null;
        try
        {
            using (StoreImage source = StoreImage.Open(argument, storeOptions(), forWriting: false))
            {
                // Checked here, so a wrong passphrase is one message before anything is started.
                passphrase = passphraseFor(source.Path);
                using ImageDisk disk = ImageDisk.Open(source.Path, passphrase: passphrase);
                metadata = disk.Metadata;
                // A store's image is served by its URL: the server opens the store itself.
                served = source.Store is null && source.ObjectStore is null ? Path.GetFullPath(source.Path) : argument;
            }
            string program = Environment.ProcessPath ?? throw new ImagingException("cannot tell where the liveimager binary is, to start its server");
            // The server, a child of its own, gets an encrypted image's passphrase on an inherited pipe.
            IReadOnlyList<MountedPartition> partitions = ImageMount.Mount(served, metadata, directory,
                socket => [program, "serve", served, "--socket", socket, .. storeArguments], passphrase);
            Print(argument, directory, partitions, output);
        }
        finally
        {
            passphrase?.Dispose();
        }
        return 0;
    });

    private static void Print(string argument, string directory, IReadOnlyList<MountedPartition> partitions, TextWriter output)
    {
        output.WriteLine($"mount: {argument} under {directory}, read-only:");
        foreach (MountedPartition p in partitions)
        {
            string label = p.Label is { Length: > 0 } l ? $" \"{l}\"" : string.Empty;
            output.WriteLine(p.MountPoint is not null
                ? $"  p{p.Number} {p.Filesystem}{label}: {p.MountPoint} ({p.Driver})"
                : $"  p{p.Number} {p.Filesystem}{label}: not mounted: {p.Problem}");
        }
        output.WriteLine($"mount: liveimager umount {directory} undoes it");
    }

    private static int Unmount(string directory, TextWriter output, TextWriter error) => CliErrors.Run("umount", error, () =>
    {
        bool wasMounted = ImageMount.IsMounted(directory);
        IReadOnlyList<string> left = ImageMount.Unmount(directory);
        if (left.Count > 0)
        {
            error.WriteLine($"umount: {directory}: not everything could be undone (run umount again once it is free):");
            foreach (string problem in left)
            {
                error.WriteLine($"  {problem}");
            }
            return CliErrors.Failed;
        }
        output.WriteLine(wasMounted ? $"umount: {directory}: unmounted; loop devices, FUSE mounts and the server are gone"
            : $"umount: {directory}: no image is mounted there; nothing to undo");
        return 0;
    });
}
