using System.Text.RegularExpressions;
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
public sealed record StoreListing(string Location, long FreeBytes, IReadOnlyList<StoredImage> Images);

/// <summary>Lists the images in a directory without reading them whole: the first bytes decide whether a file is an
/// image at all, then the header, metadata and footer describe it.</summary>
public static partial class ImageCatalog
{
    [GeneratedRegex(@"\.[0-9]{3}$")]
    private static partial Regex LaterVolume();

    /// <summary>The images in <paramref name="store"/>'s directory, by name, with its free space.</summary>
    public static StoreListing List(MountedStore store) =>
        new(store.Location.ToString(), store.FreeBytes, List(store.Directory));

    /// <summary>The images in <paramref name="directory"/>, by name; files that are not images are left out.</summary>
    public static IReadOnlyList<StoredImage> List(string directory)
    {
        var images = new List<StoredImage>();
        foreach (string path in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            if (LaterVolume().IsMatch(path) || !StartsWithMagic(path))
            {
                continue;
            }
            images.Add(Describe(path));
        }
        return images;
    }

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
        ImageMetadata? metadata = null;
        try
        {
            using var stream = new VolumeReaderStream(
                n => File.Exists(VolumeLayout.VolumePath(path, n)) ? File.OpenRead(VolumeLayout.VolumePath(path, n)) : null,
                n => VolumeLayout.VolumePath(name, n));
            using (var reader = new ImageReader(stream))
            {
                metadata = reader.Metadata;
            }
            string? problem = FooterProblem(stream);
            if (problem is null && name.EndsWith(".partial", StringComparison.Ordinal))
            {
                problem = "an unfinished capture (.partial)";
            }
            return new StoredImage(name, size, volumes, problem is null, problem, metadata);
        }
        catch (Exception e) when (e is DiskFormatException or IOException)
        {
            return new StoredImage(name, size, volumes, false, e.Message, metadata);
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

    private static bool StartsWithMagic(string path)
    {
        Span<byte> magic = stackalloc byte[8];
        try
        {
            using FileStream file = File.OpenRead(path);
            return file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) == magic.Length && magic.SequenceEqual(ImageHeader.Magic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
