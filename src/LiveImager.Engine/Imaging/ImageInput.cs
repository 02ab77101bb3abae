using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>Opens an image for reading: its volume files by name, an object in an opened s3:// store by its URL, or
/// standard output of another program ("-").</summary>
public static class ImageInput
{
    private const int BufferBytes = 1 << 20;

    /// <summary>True for an image read once, front to back: standard input ("-") or a multicast session
    /// (multicast://, whose stream the caller passes as <c>standardInput</c>).</summary>
    public static bool IsStream(string path) => path == "-" || Multicast.MulticastAddress.IsUrl(path);

    /// <summary>The logical image stream of <paramref name="path"/>; volumes are checked as it opens.</summary>
    public static Stream Open(string path, Func<Stream>? standardInput)
    {
        if (IsStream(path))
        {
            Func<Stream> open = standardInput ?? (path == "-" ? Console.OpenStandardInput
                : throw new ImagingException($"{path} is a multicast session: restore receives it (liveimager restore {path} TARGET --yes)"));
            return new BufferedStream(open(), BufferBytes);
        }
        if (S3Store.Find(path) is { } objects)
        {
            return objects.OpenRead(path, sequential: true);
        }
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ImagingException(File.Exists(full + ".partial")
                ? $"{path} does not exist, but {path}.partial does: that capture did not finish, and its image is incomplete"
                : $"{path} does not exist");
        }
        return new BufferedStream(OpenVolumes(path), BufferBytes);
    }

    /// <summary>The volume files of the image at <paramref name="path"/> as one stream; only their headers are read.</summary>
    public static VolumeReaderStream OpenVolumes(string path)
    {
        if (S3Store.Find(path) is { } objects)
        {
            return objects.OpenVolumes(path);
        }
        string full = Path.GetFullPath(path);
        return new VolumeReaderStream(
            n => File.Exists(VolumeLayout.VolumePath(full, n))
                ? new FileStream(VolumeLayout.VolumePath(full, n), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0)
                : null,
            n => VolumeLayout.VolumePath(path, n));
    }
}
