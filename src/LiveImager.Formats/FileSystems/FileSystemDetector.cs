namespace LiveImager.Formats.FileSystems;

/// <summary>Finds a partition's filesystem by signature and maps its used blocks, falling back to a whole copy.</summary>
public static class FileSystemDetector
{
    /// <summary>How much of a partition's start the probes see: enough for a swap header on 64 KiB pages, and for the
    /// btrfs superblock, 4 KiB at 64 KiB.</summary>
    public const int HeadBytes = 0x11000;

    /// <summary>Analyses <paramref name="partition"/>; never throws for bad on-disk data: it copies whole instead.</summary>
    public static FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var head = new byte[(int)Math.Min(HeadBytes, partition.Length)];
        try
        {
            partition.ReadAt(0, head);
        }
        catch (DiskFormatException e)
        {
            return FileSystemAnalysis.WholeCopy(FileSystemKind.Unknown, partition.Length, "unreadable start",
                warnings: [e.Message]);
        }
        foreach (var module in FileSystemRegistry.Modules)
        {
            FileSystemKind kind = module.Probe(head);
            if (kind == FileSystemKind.Unknown)
            {
                continue;
            }
            try
            {
                return module.Analyze(partition);
            }
            catch (DiskFormatException e)
            {
                return FileSystemAnalysis.WholeCopy(kind, partition.Length,
                    $"{kind.ToName()} metadata could not be trusted", warnings: [e.Message]);
            }
        }
        return FileSystemAnalysis.WholeCopy(FileSystemKind.Unknown, partition.Length, "unknown filesystem");
    }
}
