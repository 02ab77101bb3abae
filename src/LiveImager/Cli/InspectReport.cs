using LiveImager.Formats;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Partitions;

namespace LiveImager.Cli;

/// <summary>What <c>liveimager inspect --json</c> prints: the shape documented in docs/inspect.md.</summary>
internal sealed record InspectReport(
    string Device,
    int SectorSize,
    long DiskBytes,
    string Table,
    InspectRegion? ExtendedPartition,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<InspectPartition> Partitions,
    IReadOnlyList<InspectRegion> Regions)
{
    public static InspectReport From(string device, DiskLayout layout)
    {
        var table = layout.Table;
        return new InspectReport(
            device,
            table.SectorSize,
            table.DiskBytes,
            TableName(table.Kind),
            table.ExtendedPartition is { } e ? new InspectRegion("extended", e.StartBytes, e.SizeBytes) : null,
            table.Warnings,
            layout.Partitions.Select(InspectPartition.From).ToList(),
            table.Regions.Select(r => new InspectRegion(RegionName(r.Kind), r.StartBytes, r.SizeBytes)).ToList());
    }

    public static string TableName(PartitionTableKind kind) => kind switch
    {
        PartitionTableKind.Mbr => "mbr",
        PartitionTableKind.Gpt => "gpt",
        _ => "none",
    };

    private static string RegionName(DiskRegionKind kind) => kind switch
    {
        DiskRegionKind.PartitionTable => "partition-table",
        DiskRegionKind.BootLoaderGap => "boot-loader-gap",
        DiskRegionKind.GptBackup => "gpt-backup",
        _ => "unpartitioned",
    };
}

/// <summary>One partition of <see cref="InspectReport"/>.</summary>
internal sealed record InspectPartition(
    int Number,
    long StartBytes,
    long SizeBytes,
    string Type,
    string? Name,
    string? PartitionUuid,
    string FileSystem,
    string? Label,
    string? Uuid,
    int BlockSize,
    long TotalBlocks,
    long UsedBlocks,
    long UsedBytes,
    string Method,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<InspectLogicalVolume> LogicalVolumes)
{
    public static InspectPartition From(PartitionLayout layout)
    {
        var (partition, analysis) = (layout.Partition, layout.Analysis);
        return new InspectPartition(partition.Number, partition.StartBytes, partition.SizeBytes, partition.Type,
            partition.Name, partition.Uuid, analysis.Kind.ToName(), analysis.Label, analysis.Uuid, analysis.BlockSize,
            analysis.Map.BlockCount, analysis.Map.UsedCount, layout.UsedBytes, analysis.Method, analysis.Warnings,
            analysis.LogicalVolumes.Select(lv => new InspectLogicalVolume(lv.Name, lv.SizeBytes, lv.Segments,
                lv.FileSystem.ToName(), lv.UsedBytes, lv.WholeCopyReason)).ToList());
    }
}

/// <summary>One LVM2 logical volume of an <see cref="InspectPartition"/> holding a physical volume.</summary>
internal sealed record InspectLogicalVolume(
    string Name,
    long SizeBytes,
    IReadOnlyList<string> Segments,
    string FileSystem,
    long UsedBytes,
    string? WholeCopyReason);

/// <summary>A byte range outside the partitions, in <see cref="InspectReport"/>.</summary>
internal sealed record InspectRegion(string Kind, long StartBytes, long SizeBytes);
