using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>One image found in a store, described from its header, metadata frame and footer only.</summary>
/// <param name="Name">The file name of its first volume.</param>
/// <param name="Path">The first volume's full local path (under a store's mount point for a network store).</param>
/// <param name="SizeBytes">All its volumes' bytes.</param>
/// <param name="Complete">True when a valid footer of this image ends it (invariant 3: no footer = incomplete).</param>
/// <param name="Problem">Why it is incomplete or unreadable, else null.</param>
/// <param name="Metadata">Source disk, partitions, date; null when the metadata frame cannot be read.</param>
public sealed record StoredImage(string Name, [property: JsonIgnore] string Path, long SizeBytes, int Volumes, bool Complete,
    string? Problem, ImageMetadata? Metadata)
{
    /// <summary>True for an encrypted image (version 4): its metadata is sealed, so a listing shows only its name and size.</summary>
    public bool Encrypted { get; init; }

    /// <summary>"liveimager" for our images, "clonezilla" for a Clonezilla image directory (docs/clonezilla.md).</summary>
    public string Format { get; init; } = "liveimager";

    /// <summary>True when the image can be offered for restore: it is complete and its metadata reads.</summary>
    [JsonIgnore]
    public bool Restorable => Complete && Metadata is not null;
}

/// <summary>The images in a directory, for every place that lists them (<c>liveimager images</c>, the TUI's image
/// lists): incomplete and damaged images are listed and marked the same way everywhere, never offered as whole.</summary>
public static partial class ImageCatalog
{
    [GeneratedRegex(@"\.[0-9]{3}$")]
    private static partial Regex LaterVolume();

    /// <summary>The images in <paramref name="directory"/> (not its subdirectories), by name, unfinished and damaged
    /// ones included, then the Clonezilla image directories in it; files that are not images and later volumes of
    /// split images are left out.</summary>
    public static IReadOnlyList<StoredImage> List(string directory, CancellationToken cancellationToken = default)
    {
        var images = new List<StoredImage>();
        foreach (string path in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!LaterVolume().IsMatch(path) && StartsWithImageMagic(path))
            {
                images.Add(Describe(path));
            }
        }
        images.AddRange(ListClonezilla(directory, cancellationToken));
        return images;
    }

    /// <summary>The images beside <paramref name="path"/> captured incrementally on the image there (by its id): while
    /// any exists, that image must not be replaced or removed, or their chain would break.</summary>
    public static IReadOnlyList<string> Dependents(string path)
    {
        if (!File.Exists(path) || Describe(path) is not { Metadata: not null } image)
        {
            return [];
        }
        Guid id;
        using (VolumeReaderStream stream = ImageInput.OpenVolumes(path))
        using (var reader = new ImageReader(stream))
        {
            id = reader.Header.ImageId;
        }
        return [.. List(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!)
            .Where(other => other.Metadata?.Base?.ImageId == id && other.Name != image.Name).Select(other => other.Name)];
    }

    /// <summary>Describes the image whose first volume is <paramref name="path"/>; never throws for a damaged image:
    /// its <see cref="StoredImage.Problem"/> says what is wrong.</summary>
    public static StoredImage Describe(string path)
    {
        bool isObject = Targets.S3Store.Find(path) is not null;
        string name = System.IO.Path.GetFileName(isObject ? Targets.StoreLocation.Parse(path).Path : path);
        string fullPath = isObject ? path : System.IO.Path.GetFullPath(path);
        long size = 0;
        int volumes = 0;
        for (int n = 1; !isObject && File.Exists(VolumeLayout.VolumePath(path, n)); n++)
        {
            size += new FileInfo(VolumeLayout.VolumePath(path, n)).Length;
            volumes = n;
        }
        try
        {
            using VolumeReaderStream stream = ImageInput.OpenVolumes(path);
            if (isObject)
            {
                (size, volumes) = (stream.Length, 1);
            }
            if (IsEncrypted(stream))
            {
                // Its metadata is sealed: a listing asks for no passphrase, so it shows what the plaintext tells.
                string? sealedProblem = FooterProblem(stream) ??
                    (name.EndsWith(".partial", StringComparison.Ordinal) ? "an unfinished capture (.partial)" : null);
                return new StoredImage(name, fullPath, size, volumes, sealedProblem is null, sealedProblem, null) { Encrypted = true };
            }
            ImageMetadata metadata;
            using (var reader = new ImageReader(stream))
            {
                metadata = reader.Metadata;
            }
            string? problem = FooterProblem(stream) ??
                (name.EndsWith(".partial", StringComparison.Ordinal) ? "an unfinished capture (.partial)" : null);
            return new StoredImage(name, fullPath, size, volumes, problem is null, problem, metadata);
        }
        catch (Exception e) when (e is DiskFormatException or IOException or UnauthorizedAccessException)
        {
            return new StoredImage(name, fullPath, size, volumes, false, e.Message, null);
        }
    }

    /// <summary>Describes an encrypted image with its metadata, read under <paramref name="passphrase"/>; throws
    /// <see cref="ImagePassphraseException"/> when the passphrase is not the image's, before any frame is read.</summary>
    public static StoredImage Unlock(string path, ImagePassphrase passphrase)
    {
        StoredImage sealedImage = Describe(path);
        using VolumeReaderStream stream = ImageInput.OpenVolumes(path);
        using var reader = new ImageReader(stream, passphrase);
        return sealedImage with { Metadata = reader.Metadata };
    }

    /// <summary>True when the image's header says it is encrypted; leaves the stream at its start.</summary>
    public static bool IsEncrypted(Stream stream)
    {
        var bytes = new byte[ImageHeader.Length];
        int got = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        return got == bytes.Length && ImageHeader.Parse(bytes).IsEncrypted;
    }

    /// <summary>True when the image at <paramref name="path"/> (a file or a store URL) is encrypted.</summary>
    public static bool IsEncrypted(string path)
    {
        if (path == "-")
        {
            return false;
        }
        using VolumeReaderStream stream = ImageInput.OpenVolumes(path);
        return IsEncrypted(stream);
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

    /// <summary>Null when the image ends in a valid footer of its own; otherwise why not.</summary>
    private static string? FooterProblem(VolumeReaderStream stream)
    {
        const string Unfinished = "no footer: the capture did not finish";
        long offset = stream.Length - ImageFooter.Length;
        if (offset < ImageHeader.Length)
        {
            return Unfinished;
        }
        var bytes = new byte[ImageFooter.Length];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        if (!ImageFooter.StartsWithMagic(bytes))
        {
            return Unfinished;
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
