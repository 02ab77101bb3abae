namespace LiveImager.Engine.Imaging;

/// <summary>A path given as a disk breaks <see cref="DiskPath"/>'s rule (a mistyped disk name, a missing file); nothing
/// was opened or written. Scripts get it as a usage error, not as a failed job.</summary>
public sealed class DiskPathException(string path, string message) : ImagingException(message)
{
    public string Path => path;
}
