using System.Security.Cryptography;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Opening;

/// <summary>One partition of an image opened for browsing: what the image's metadata says of it, and where it is
/// mounted, or why it cannot be opened.</summary>
public sealed record BrowsedPartition(int Number, string Filesystem, string? Label, long SizeBytes, string? MountPoint, string? Problem);

/// <summary>An image opened for browsing: its partitions mounted read-only by <see cref="ImageMount"/>, exactly as
/// <c>liveimager mount</c> does, under a private directory of its own beneath <see cref="ImageMount.StateRoot"/>;
/// <see cref="Close"/> undoes it all (the TUI's "Browse an image" calls it when its screen closes, whatever way).</summary>
public static class ImageBrowse
{
    /// <summary>How the private directories are named under the state root, so a leftover one is recognised.</summary>
    public const string DirectoryPrefix = "browse-";

    /// <summary>Mounts every partition of <paramref name="image"/> (a local path) under a new private directory.
    /// <paramref name="serverCommand"/> gives the command line of the image's NBD server for a socket path.
    /// An encrypted image's <paramref name="passphrase"/> is checked here and reaches the server as <see cref="ImageMount"/> hands it on.</summary>
    /// <returns>The directory (to pass to <see cref="Close"/>) and each partition.</returns>
    public static (string Directory, IReadOnlyList<BrowsedPartition> Partitions) Open(string image,
        Func<string, IReadOnlyList<string>> serverCommand, ImagePassphrase? passphrase = null)
    {
        ImageMetadata metadata;
        using (ImageDisk disk = ImageDisk.Open(image, passphrase: passphrase))
        {
            metadata = disk.Metadata;
        }
        string directory = Path.Combine(ImageMount.StateRoot, DirectoryPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
        PrivateFiles.CreateDirectory(directory);
        IReadOnlyList<MountedPartition> mounted;
        try
        {
            mounted = ImageMount.Mount(image, metadata, directory, serverCommand, passphrase);
        }
        catch
        {
            // Mount has undone its own steps; only the empty directory is left.
            DeleteIfEmpty(directory);
            throw;
        }
        Dictionary<int, long> sizes = metadata.Partitions.ToDictionary(p => p.Number, p => p.SizeBytes);
        Log.Information("Opened {Image} for browsing under {Directory}", image, directory);
        return (directory, [.. mounted.Select(m => new BrowsedPartition(m.Number, m.Filesystem, m.Label,
            sizes.GetValueOrDefault(m.Number), m.MountPoint, m.Problem))]);
    }

    /// <summary>Unmounts what <see cref="Open"/> mounted under <paramref name="directory"/> and removes the directory.
    /// Returns what could not be undone (empty when all is gone); it can be called again, and for a directory only
    /// partly set up.</summary>
    public static IReadOnlyList<string> Close(string directory)
    {
        if (!Path.GetFileName(directory.TrimEnd('/')).StartsWith(DirectoryPrefix, StringComparison.Ordinal)
            || Path.GetDirectoryName(Path.GetFullPath(directory).TrimEnd('/')) != ImageMount.StateRoot)
        {
            throw new ArgumentException($"{directory} is not a browse directory of {ImageMount.StateRoot}", nameof(directory));
        }
        IReadOnlyList<string> left = ImageMount.Unmount(directory);
        if (left.Count == 0)
        {
            DeleteIfEmpty(directory);
        }
        return left;
    }

    private static void DeleteIfEmpty(string directory)
    {
        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
    }
}
