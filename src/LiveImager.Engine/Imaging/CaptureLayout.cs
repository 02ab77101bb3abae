using LiveImager.Formats;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Partitions;

namespace LiveImager.Engine.Imaging;

/// <summary>What a capture copies from a disk: its table, each partition's used bytes, and the regions outside the
/// partitions that matter for booting (tables, boot loader gap, GPT backup).</summary>
/// <remarks>Unpartitioned space is not copied: no filesystem claims it, and Clonezilla does not copy it either. The
/// capture log says how much was left out.</remarks>
public sealed class CaptureLayout
{
    private CaptureLayout(PartitionTable table, IReadOnlyList<(PartitionEntry Entry, FileSystemAnalysis Analysis)> partitions,
        IReadOnlyList<DiskRegion> copiedRegions, long diskBytes)
    {
        Table = table;
        Partitions = partitions;
        CopiedRegions = copiedRegions;
        DiskBytes = diskBytes;
    }

    public PartitionTable Table { get; }

    /// <summary>True for a forensic capture: every byte of the disk is read, whatever the filesystems prove free.</summary>
    public bool ReadsEverything { get; private init; }

    /// <summary>This layout reading every byte of the disk (capture --forensic): the tables and maps stay for the
    /// record, but nothing is skipped and no restore fix-up is needed.</summary>
    public CaptureLayout ReadingEveryByte() => new(Table, Partitions, CopiedRegions, DiskBytes) { ReadsEverything = true };

    /// <summary>Each partition with its analysis; a disk without a table is one partition numbered <see cref="DiskLayout.WholeDiskNumber"/>.</summary>
    public IReadOnlyList<(PartitionEntry Entry, FileSystemAnalysis Analysis)> Partitions { get; }

    public IReadOnlyList<DiskRegion> CopiedRegions { get; }
    public long DiskBytes { get; }

    /// <summary>Reads the table of <paramref name="disk"/> and analyses every partition's filesystem.</summary>
    public static CaptureLayout Inspect(IBlockSource disk, int sectorSize)
    {
        DiskLayout layout = DiskLayout.Analyze(disk, sectorSize);
        var regions = layout.Table.Regions.Where(r => r.Kind != DiskRegionKind.Unpartitioned && r.SizeBytes > 0).ToList();
        return new CaptureLayout(layout.Table, [.. layout.Partitions.Select(p => (p.Partition, p.Analysis))], regions, disk.Length);
    }

    /// <summary>The disk's bytes to copy, ascending and disjoint.</summary>
    public IEnumerable<(long Start, long Length)> Runs()
    {
        if (ReadsEverything)
        {
            return [(0, DiskBytes)];
        }
        var sources = new List<(long Start, IEnumerable<(long, long)> Runs)>();
        foreach (DiskRegion region in CopiedRegions)
        {
            sources.Add((region.StartBytes, [(region.StartBytes, region.SizeBytes)]));
        }
        foreach (var (entry, analysis) in Partitions)
        {
            long start = entry.StartBytes;
            sources.Add((start, analysis.UsedByteRuns(entry.SizeBytes).Select(r => (start + r.Offset, r.Length))));
        }
        return sources.OrderBy(s => s.Start).SelectMany(s => s.Runs);
    }

    /// <summary>The frames a capture reads, for a device of <paramref name="alignment"/>.</summary>
    public IEnumerable<FramePlan> Frames(int chunkSize, int alignment) =>
        FramePlan.Cut(Runs(), DiskBytes, chunkSize, alignment, MaxJoinedGap);

    /// <summary>Gaps shorter than this between used runs are read and zeroed rather than skipped: one 4 MiB read costs
    /// less than many small ones, and the zeros compress to nothing.</summary>
    public const int MaxJoinedGap = 256 * 1024;

    /// <summary>The partition that holds <paramref name="diskOffset"/>, or 0.</summary>
    public int PartitionAt(long diskOffset)
    {
        foreach (var (entry, _) in Partitions)
        {
            if (diskOffset >= entry.StartBytes && diskOffset < entry.EndBytes)
            {
                return entry.Number;
            }
        }
        return 0;
    }

    /// <summary>The image metadata for this layout.</summary>
    public ImageMetadata ToMetadata(SourceDisk source, long dataBytes, string tool, DateTimeOffset created) => new()
    {
        Tool = tool,
        CreatedUtc = created,
        Source = source,
        Table = new TableInfo
        {
            Kind = Table.Kind.ToString().ToLowerInvariant(),
            SectorSize = Table.SectorSize,
            DiskBytes = Table.DiskBytes,
            Warnings = Table.Warnings,
        },
        Partitions = [.. Partitions.Select(p => new PartitionInfo
        {
            Number = p.Entry.Number,
            StartBytes = p.Entry.StartBytes,
            SizeBytes = p.Entry.SizeBytes,
            Type = p.Entry.Type,
            Name = p.Entry.Name,
            PartitionUuid = p.Entry.Uuid,
            Filesystem = p.Analysis.Kind.ToName(),
            Label = p.Analysis.Label,
            Uuid = p.Analysis.Uuid,
            BlockSize = p.Analysis.BlockSize,
            BlockCount = p.Analysis.Map.BlockCount,
            UsedBlocks = p.Analysis.Map.UsedCount,
            Method = p.Analysis.Method,
            Warnings = p.Analysis.Warnings,
            UnusedMetadataBytes = ReadsEverything ? 0 : p.Analysis.UnusedMetadataBytes,
            Fixups = ReadsEverything ? [] : p.Analysis.RestoreFixups,
        })],
        Regions = [.. CopiedRegions.Select(r => new RegionInfo { Kind = RegionName(r.Kind), StartBytes = r.StartBytes, SizeBytes = r.SizeBytes })],
        DataBytes = dataBytes,
    };

    private static string RegionName(DiskRegionKind kind) => kind switch
    {
        DiskRegionKind.PartitionTable => RegionKinds.PartitionTable,
        DiskRegionKind.BootLoaderGap => RegionKinds.BootLoaderGap,
        DiskRegionKind.GptBackup => RegionKinds.GptBackup,
        _ => RegionKinds.Unpartitioned,
    };
}
