namespace LiveImager.Formats.FileSystems;

/// <summary>One filesystem's two duties, as in partclone: recognise its signature, and map its used blocks.</summary>
/// <remarks>All I/O, image writing, progress and checksums are shared code; a module only reads metadata.</remarks>
public interface IFileSystemModule
{
    /// <summary>The filesystem whose signature <paramref name="head"/> carries (the partition's first
    /// <see cref="FileSystemDetector.HeadBytes"/> bytes, or fewer when the partition is smaller), or
    /// <see cref="FileSystemKind.Unknown"/> when it is not this module's.</summary>
    FileSystemKind Probe(ReadOnlySpan<byte> head);

    /// <summary>Reads the filesystem's allocation metadata from <paramref name="partition"/>.</summary>
    /// <remarks>Starts from an all-used map and clears only blocks the metadata proves free, cross-checked against the
    /// free count the superblock or boot sector records. Returns <see cref="FileSystemAnalysis.WholeCopy"/> for a
    /// filesystem it recognises but will not map (unknown features); throws <see cref="DiskFormatException"/> for
    /// corrupt or inconsistent metadata.</remarks>
    FileSystemAnalysis Analyze(IBlockSource partition);
}
