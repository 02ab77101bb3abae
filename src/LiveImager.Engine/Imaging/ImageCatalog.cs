using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>An image as its header and metadata describe it, read without its data.</summary>
/// <param name="StoredBytes">The image's size on its store, every volume counted.</param>
public sealed record ImageDescription(string Path, ImageHeader Header, ImageMetadata Metadata, long StoredBytes, int Volumes);

/// <summary>The images in a directory, and what each holds: what a restore chooses from.</summary>
public static class ImageCatalog
{
    /// <summary>Reads <paramref name="path"/>'s header and metadata frame only; a split image's later volumes are
    /// checked by their headers.</summary>
    /// <exception cref="DiskFormatException">The file is not an image, or its header or metadata is damaged.</exception>
    public static ImageDescription Describe(string path)
    {
        using VolumeReaderStream volumes = ImageInput.OpenVolumes(path);
        using var reader = new ImageReader(volumes);
        return new ImageDescription(Path.GetFullPath(path), reader.Header, reader.Metadata, volumes.Length, volumes.VolumeCount);
    }

    /// <summary>Every image in <paramref name="directory"/> (not its subdirectories), newest first. Files that are not
    /// images, later volumes and unfinished captures (*.partial) are left out; a damaged image is logged and left out.</summary>
    public static IReadOnlyList<ImageDescription> List(string directory, CancellationToken cancellationToken)
    {
        var images = new List<ImageDescription>();
        foreach (string file in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.EndsWith(".partial", StringComparison.Ordinal) || !StartsWithImageMagic(file))
            {
                continue;
            }
            try
            {
                images.Add(Describe(file));
            }
            catch (Exception e) when (e is DiskFormatException or IOException or UnauthorizedAccessException)
            {
                Log.Warning("{Image} is left out of the image list: {Problem}", file, e.Message);
            }
        }
        return [.. images.OrderByDescending(i => i.Metadata.CreatedUtc)];
    }

    /// <summary>True when the file begins like an image's first volume; later volumes begin with their own magic.</summary>
    internal static bool StartsWithImageMagic(string file)
    {
        Span<byte> start = stackalloc byte[ImageHeader.Magic.Length];
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            return stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.SequenceEqual(ImageHeader.Magic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
