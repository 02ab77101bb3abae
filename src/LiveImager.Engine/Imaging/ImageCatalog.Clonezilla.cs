using LiveImager.Formats;

namespace LiveImager.Engine.Imaging;

/// <summary>Clonezilla image directories in a store, listed beside our images and marked as such.</summary>
public static partial class ImageCatalog
{
    /// <summary>The subdirectories of <paramref name="directory"/> that are Clonezilla images, by name.</summary>
    private static IEnumerable<StoredImage> ListClonezilla(string directory, CancellationToken cancellationToken)
    {
        foreach (string path in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ClonezillaInput.IsClonezillaDirectory(path))
            {
                yield return DescribeClonezilla(path);
            }
        }
    }

    /// <summary>Describes a Clonezilla image directory from its small files and each partition image's header and
    /// bitmap (<see cref="ClonezillaLayout"/>); never throws for a damaged or unsupported one: its problem says why.</summary>
    public static StoredImage DescribeClonezilla(string path)
    {
        string fullPath = Path.GetFullPath(path);
        string name = Path.GetFileName(fullPath);
        long size = 0;
        int files = 0;
        foreach (string file in Directory.EnumerateFiles(fullPath))
        {
            size += new FileInfo(file).Length;
            files++;
        }
        try
        {
            ClonezillaLayout layout = ClonezillaLayout.Read(fullPath);
            return new StoredImage(name, fullPath, size, 1, true, null, layout.Metadata) { Format = "clonezilla" };
        }
        catch (Exception e) when (e is DiskFormatException or ImagingException or IOException or UnauthorizedAccessException)
        {
            return new StoredImage(name, fullPath, size, 1, false, e.Message, null) { Format = "clonezilla" };
        }
    }
}
