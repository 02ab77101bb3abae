namespace LiveImager.Formats.Partitions;

/// <summary>The kind of partition table a disk carries.</summary>
public enum PartitionTableKind
{
    /// <summary>No table: the whole disk is one filesystem (or nothing known).</summary>
    None,
    Mbr,
    Gpt,
}

/// <summary>One partition, in bytes from the start of the disk.</summary>
/// <param name="Number">The number Linux gives it (sda1 = 1; MBR logical partitions from 5).</param>
/// <param name="Type">MBR type as "0x83", or the GPT type GUID in lower case.</param>
/// <param name="Name">GPT partition name, or null.</param>
/// <param name="Uuid">GPT unique partition GUID in lower case, or null.</param>
public sealed record PartitionEntry(int Number, long StartBytes, long SizeBytes, string Type, string? Name, string? Uuid)
{
    public long EndBytes => StartBytes + SizeBytes;
}

/// <summary>What a region of the disk outside every partition is.</summary>
public enum DiskRegionKind
{
    /// <summary>An MBR, an EBR, or the primary GPT header and entry array.</summary>
    PartitionTable,
    /// <summary>From the end of the table to the first partition, where boot loaders (GRUB's core.img) live.</summary>
    BootLoaderGap,
    /// <summary>The backup GPT entry array and header at the end of the disk.</summary>
    GptBackup,
    /// <summary>Space between or after partitions that no partition claims.</summary>
    Unpartitioned,
}

/// <summary>A byte range of the disk outside the partitions.</summary>
public sealed record DiskRegion(DiskRegionKind Kind, long StartBytes, long SizeBytes);

/// <summary>A disk's partition table as read, with the regions outside its partitions.</summary>
/// <param name="Partitions">In ascending order of <see cref="PartitionEntry.Number"/>.</param>
/// <param name="Regions">Every byte of the disk not inside a partition, in ascending order of start.</param>
/// <param name="Warnings">What a technician should know: a damaged primary GPT, a hybrid MBR, overlapping entries.</param>
public sealed record PartitionTable(
    PartitionTableKind Kind,
    int SectorSize,
    long DiskBytes,
    IReadOnlyList<PartitionEntry> Partitions,
    IReadOnlyList<DiskRegion> Regions,
    IReadOnlyList<string> Warnings)
{
    /// <summary>The MBR's extended partition, which holds the EBRs and logical partitions; null on GPT or without one.</summary>
    /// <remarks>Not in <see cref="Partitions"/>: its bytes are the EBRs (in <see cref="Regions"/>), the logical
    /// partitions, and gaps.</remarks>
    public PartitionEntry? ExtendedPartition { get; init; }
}
