namespace LiveImager.Formats.FileSystems;

/// <summary>What a filesystem module learned about one partition: its identity and which blocks hold data.</summary>
/// <param name="Kind">The filesystem found by its signature.</param>
/// <param name="Label">Volume label, or null when it has none.</param>
/// <param name="Uuid">Volume UUID or serial number as the filesystem's own tools print it, or null.</param>
/// <param name="Map">Used blocks at the filesystem's block size. Bytes of the partition past the map's last block are
/// always copied (see <see cref="UsedByteRuns"/>).</param>
/// <param name="Method">How the map was obtained, for a person: "ext4 block bitmaps", "whole copy: unknown filesystem".</param>
/// <param name="Warnings">Why a whole copy or a partial trust was chosen, and anything else a technician should read.</param>
public sealed record FileSystemAnalysis(
    FileSystemKind Kind,
    string? Label,
    string? Uuid,
    UsedBlockMap Map,
    string Method,
    IReadOnlyList<string> Warnings)
{
    /// <summary>For a volume manager's physical volume (LVM2): each logical volume on it, how it was mapped; empty otherwise.</summary>
    public IReadOnlyList<LogicalVolumeAnalysis> LogicalVolumes { get; init; } = [];

    /// <summary>Bytes the filesystem marks in use but its own counters prove never initialised, left out of
    /// <see cref="Map"/>: the ends of ext4 inode tables past bg_itable_unused.</summary>
    public long UnusedMetadataBytes { get; init; }

    /// <summary>What a restore must do to the restored partition so the bytes left out stay harmless, by name (one of
    /// <see cref="Ext.ExtInodeTableFixup.Name"/>); empty when the image's bytes suffice.</summary>
    public IReadOnlyList<string> RestoreFixups { get; init; } = [];

    /// <summary>Block size used by <see cref="Map"/>, in bytes.</summary>
    public int BlockSize => Map.BlockSize;

    /// <summary>True when no block was proven free and the partition is copied whole.</summary>
    public bool IsWholeCopy => Method.StartsWith(WholeCopyPrefix, StringComparison.Ordinal);

    /// <summary>The prefix of <see cref="Method"/> for a whole copy.</summary>
    public const string WholeCopyPrefix = "whole copy: ";

    /// <summary>Block size of a whole-copy map of a partition up to <see cref="WholeCopyMaxBlocks"/> of them (64 GiB).</summary>
    public const int WholeCopyBlockSize = 4096;

    /// <summary>The most blocks a whole-copy map has (2 MiB of bits): a larger partition gets larger blocks, so a
    /// map that says "everything" never costs memory in proportion to the partition, nor fails past 16 TiB.</summary>
    public const long WholeCopyMaxBlocks = 1L << 24;

    /// <summary>A map with every block used, for a partition of <paramref name="partitionBytes"/> bytes.</summary>
    public static FileSystemAnalysis WholeCopy(FileSystemKind kind, long partitionBytes, string reason,
        string? label = null, string? uuid = null, IReadOnlyList<string>? warnings = null)
    {
        int blockSize = WholeCopyBlockSize;
        while (partitionBytes / blockSize > WholeCopyMaxBlocks)
        {
            blockSize *= 2;
        }
        return new(kind, label, uuid, new UsedBlockMap(partitionBytes / blockSize, blockSize), WholeCopyPrefix + reason, warnings ?? []);
    }

    /// <summary>The partition's bytes to copy, as (offset, length) runs from the partition's start, ascending.</summary>
    /// <remarks>The map's used blocks, then everything from the end of the map to the end of the partition: what lies
    /// past the filesystem (NTFS keeps its backup boot sector there) is not the filesystem's to declare free.</remarks>
    public IEnumerable<(long Offset, long Length)> UsedByteRuns(long partitionBytes)
    {
        long mapBytes = Math.Min(Map.BlockCount * BlockSize, partitionBytes);
        (long Offset, long Length)? pending = null;
        foreach (var (first, count) in Map.UsedRuns())
        {
            long offset = first * BlockSize;
            if (offset >= mapBytes)
            {
                break;
            }
            if (pending is { } run)
            {
                yield return run;
            }
            pending = (offset, Math.Min(count * BlockSize, mapBytes - offset));
        }
        if (mapBytes < partitionBytes)
        {
            if (pending is { } last && last.Offset + last.Length == mapBytes)
            {
                pending = (last.Offset, partitionBytes - last.Offset);
            }
            else
            {
                if (pending is { } run)
                {
                    yield return run;
                }
                pending = (mapBytes, partitionBytes - mapBytes);
            }
        }
        if (pending is { } final)
        {
            yield return final;
        }
    }
}
