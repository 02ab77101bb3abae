using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Partitions;

namespace LiveImager.Formats;

/// <summary>One partition of a disk and what its filesystem's signature and metadata say about it.</summary>
/// <param name="Partition">Where it lies; with no partition table, the whole disk as number
/// <see cref="DiskLayout.WholeDiskNumber"/>.</param>
/// <param name="Analysis">The filesystem and its used blocks; a whole copy when nothing could be trusted.</param>
public sealed record PartitionLayout(PartitionEntry Partition, FileSystemAnalysis Analysis)
{
    /// <summary>The bytes a capture copies of this partition: the used blocks and whatever lies past the map.</summary>
    public long UsedBytes => Analysis.UsedByteRuns(Partition.SizeBytes).Sum(run => run.Length);
}

/// <summary>A whole disk as the imager sees it: the partition table, and each partition's filesystem analysis.</summary>
/// <param name="Partitions">In the table's order; one entry for the whole disk when it has no table.</param>
public sealed record DiskLayout(PartitionTable Table, IReadOnlyList<PartitionLayout> Partitions)
{
    /// <summary>The number of the one <see cref="PartitionLayout"/> of a disk without a partition table.</summary>
    public const int WholeDiskNumber = 0;

    /// <summary>Reads the table of <paramref name="disk"/> (logical sectors of <paramref name="sectorSize"/> bytes)
    /// and analyses every partition, or the whole disk when there is no table.</summary>
    /// <exception cref="DiskFormatException">The partition table is corrupt; the caller decides (refuse, or copy the
    /// whole disk). A filesystem that cannot be trusted is not an error: its partition is a whole copy.</exception>
    public static DiskLayout Analyze(IBlockSource disk, int sectorSize)
    {
        var table = PartitionTableReader.Read(disk, sectorSize);
        if (table.Kind == PartitionTableKind.None)
        {
            var wholeDisk = new PartitionEntry(WholeDiskNumber, 0, disk.Length, string.Empty, null, null);
            return new DiskLayout(table, [new PartitionLayout(wholeDisk, FileSystemDetector.Analyze(disk))]);
        }
        var partitions = table.Partitions
            .Select(p => new PartitionLayout(p, FileSystemDetector.Analyze(disk.Slice(p.StartBytes, p.SizeBytes))))
            .ToList();
        return new DiskLayout(table, partitions);
    }
}
