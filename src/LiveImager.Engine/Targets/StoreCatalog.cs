using System.Text.RegularExpressions;
using LiveImager.Engine.Imaging;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Targets;

/// <summary>One image found in a store, described from its header, metadata frame and footer only.</summary>
/// <param name="Name">The file name of its first volume.</param>
/// <param name="SizeBytes">All its volumes' bytes.</param>
/// <param name="Complete">True when a valid footer of this image ends it (DESIGN.md invariant 3: no footer = incomplete).</param>
/// <param name="Problem">Why it is incomplete or unreadable, else null.</param>
/// <param name="Metadata">Source disk, partitions, date; null when the metadata frame cannot be read.</param>
public sealed record StoredImage(string Name, long SizeBytes, int Volumes, bool Complete, string? Problem, ImageMetadata? Metadata);

/// <summary>A store's images and its free space.</summary>
/// <param name="HostKey">SSH: the server's host-key fingerprint, else null.</param>
/// <param name="HostKeyPinned">SSH: true when the URL pinned the key, false when it was trusted on first use; else null.</param>
public sealed record StoreListing(string Location, long FreeBytes, IReadOnlyList<StoredImage> Images, string? HostKey = null,
    bool? HostKeyPinned = null);

/// <summary>Lists every image file in a store, finished or not, for <c>liveimager images</c>: what
/// <see cref="ImageCatalog"/> reads (header and metadata) plus the footer, which says whether the image is complete.</summary>
public static partial class StoreCatalog
{
    [GeneratedRegex(@"\.[0-9]{3}$")]
    private static partial Regex LaterVolume();

    /// <summary>The images in <paramref name="store"/>'s directory, by name, with its free space.</summary>
    public static StoreListing List(MountedStore store) =>
        new(store.Location.ToString(), store.FreeBytes, List(store.Directory), store.HostKey, store.HostKey is null ? null : store.HostKeyPinned);

    /// <summary>The images in <paramref name="directory"/>, by name, unfinished and damaged ones included; files that
    /// are not images are left out.</summary>
    public static IReadOnlyList<StoredImage> List(string directory) =>
        [.. Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal)
            .Where(path => !LaterVolume().IsMatch(path) && ImageCatalog.StartsWithImageMagic(path))
            .Select(Describe)];

    /// <summary>Describes the image whose first volume is <paramref name="path"/>.</summary>
    public static StoredImage Describe(string path)
    {
        string name = Path.GetFileName(path);
        long size = 0;
        int volumes = 0;
        for (int n = 1; File.Exists(VolumeLayout.VolumePath(path, n)); n++)
        {
            size += new FileInfo(VolumeLayout.VolumePath(path, n)).Length;
            volumes = n;
        }
        try
        {
            ImageDescription description = ImageCatalog.Describe(path);
            using VolumeReaderStream stream = ImageInput.OpenVolumes(path);
            string? problem = FooterProblem(stream) ??
                (name.EndsWith(".partial", StringComparison.Ordinal) ? "an unfinished capture (.partial)" : null);
            return new StoredImage(name, size, volumes, problem is null, problem, description.Metadata);
        }
        catch (Exception e) when (e is DiskFormatException or IOException or UnauthorizedAccessException)
        {
            return new StoredImage(name, size, volumes, false, e.Message, null);
        }
    }

    /// <summary>Null when the image ends in a valid footer of its own; otherwise why not.</summary>
    private static string? FooterProblem(VolumeReaderStream stream)
    {
        long offset = stream.Length - ImageFooter.Length;
        if (offset < ImageHeader.Length)
        {
            return "no footer: the capture did not finish";
        }
        var bytes = new byte[ImageFooter.Length];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        if (!ImageFooter.StartsWithMagic(bytes))
        {
            return "no footer: the capture did not finish";
        }
        try
        {
            ImageFooter footer = ImageFooter.Parse(bytes, offset, stream.Length);
            return footer.ImageId == stream.Header.ImageId ? null : "the footer belongs to another image";
        }
        catch (DiskFormatException e)
        {
            return e.Message;
        }
    }
}
