namespace LiveImager.Formats.FileSystems.Swap;

/// <summary>Linux swap: only the header page (UUID, label) is kept; the pages after it hold nothing worth copying.</summary>
/// <remarks>Restoring the header alone gives a valid swap area with the same UUID and label, so fstab entries by UUID
/// or LABEL still work; mkswap itself writes nothing else.</remarks>
public sealed class SwapModule : IFileSystemModule
{
    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        SwapHeader.FindPageSize(head) != 0 ? FileSystemKind.Swap : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var head = new byte[(int)Math.Min(SwapHeader.MaxPageSize, partition.Length)];
        partition.ReadAt(0, head);
        int pageSize = SwapHeader.FindPageSize(head);
        if (pageSize == 0)
        {
            throw new DiskFormatException("swap header", "magic", "none", 0,
                $"no SWAPSPACE2 or SWAP-SPACE at the end of a {SwapHeader.MinPageSize}..{SwapHeader.MaxPageSize}-byte page");
        }
        var header = SwapHeader.Parse(head.AsSpan(0, pageSize));
        header.Validate(partition.Length);

        // The map ends with the swap area; whatever the partition holds past it is copied, as for every filesystem.
        var map = new UsedBlockMap(header.PageCount(partition.Length), pageSize);
        map.MarkFree(1, map.BlockCount - 1);
        return new FileSystemAnalysis(FileSystemKind.Swap, header.Label, header.Uuid, map, "swap header only", []);
    }
}
