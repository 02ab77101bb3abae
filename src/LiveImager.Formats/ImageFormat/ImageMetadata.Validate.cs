using System.Numerics;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The one check of an image's metadata, run by <see cref="Parse"/> for every reader (restore, verify, info,
/// images): the metadata comes from a file the tool does not control, so every number in it is bounded and cross-checked
/// before anything is sized, allocated or looped over from it (docs/security.md).</summary>
public sealed partial record ImageMetadata
{
    /// <summary>Largest source disk an image may describe: 2^56 bytes (64 PiB), far beyond any disk, small enough that
    /// sums of offsets and sizes cannot overflow a long.</summary>
    public const long MaxDiskBytes = 1L << 56;

    /// <summary>Largest sector size: 64 KiB (Linux's limit for a block device's logical block size).</summary>
    public const int MaxSectorSize = 64 * 1024;

    /// <summary>Largest physical sector (or optimal I/O granule) recorded: 1 MiB.</summary>
    public const int MaxPhysicalSectorSize = 1024 * 1024;

    /// <summary>Largest filesystem block or cluster a used-block map may use: 1 GiB (ext4 bigalloc clusters, NTFS and
    /// exFAT clusters are far smaller).</summary>
    public const int MaxBlockSize = 1 << 30;

    /// <summary>Highest partition number: GPT's entry array holds at most this many entries here.</summary>
    public const int MaxPartitionNumber = 65536;

    private const string Structure = "image metadata";

    private static readonly string[] s_tableKinds = ["none", "mbr", "gpt"];

    private static readonly string[] s_regionKinds =
        [RegionKinds.PartitionTable, RegionKinds.BootLoaderGap, RegionKinds.GptBackup, RegionKinds.Unpartitioned];

    private void Validate(long frameOffset)
    {
        if (Source is null || Table is null || Partitions is null || Regions is null)
        {
            throw new DiskFormatException(Structure, "source/table/partitions/regions", "null", frameOffset, "a required part is missing");
        }
        Check(Source.SizeBytes is > 0 and <= MaxDiskBytes, "source.sizeBytes", Source.SizeBytes, frameOffset, $"must be 1..{MaxDiskBytes}");
        Check(IsSectorSize(Source.LogicalSectorSize, MaxSectorSize), "source.logicalSectorSize", Source.LogicalSectorSize, frameOffset,
            $"must be a power of two from 512 to {MaxSectorSize}");
        Check(IsSectorSize(Source.PhysicalSectorSize, MaxPhysicalSectorSize) && Source.PhysicalSectorSize >= Source.LogicalSectorSize,
            "source.physicalSectorSize", Source.PhysicalSectorSize, frameOffset,
            $"must be a power of two from the logical sector size ({Source.LogicalSectorSize}) to {MaxPhysicalSectorSize}");
        Check(s_tableKinds.Contains(Table.Kind), "table.kind", Table.Kind, frameOffset, "must be none, mbr or gpt");
        Check(IsSectorSize(Table.SectorSize, MaxSectorSize), "table.sectorSize", Table.SectorSize, frameOffset,
            $"must be a power of two from 512 to {MaxSectorSize}");
        // Both are the length of the one disk read at capture.
        Check(Table.DiskBytes == Source.SizeBytes, "table.diskBytes", Table.DiskBytes, frameOffset,
            $"must equal source.sizeBytes ({Source.SizeBytes})");
        Check(Partitions.Count <= MaxPartitions, "partitions", Partitions.Count, frameOffset, $"at most {MaxPartitions} partitions");
        Check(Regions.Count <= MaxRegions, "regions", Regions.Count, frameOffset, $"at most {MaxRegions} regions");
        Check(DataBytes >= 0 && DataBytes <= Source.SizeBytes, "dataBytes", DataBytes, frameOffset, $"must be 0..{Source.SizeBytes}");

        var extents = new List<(long Start, long End, string Name)>(Partitions.Count + Regions.Count);
        var numbers = new HashSet<int>();
        for (int i = 0; i < Partitions.Count; i++)
        {
            PartitionInfo p = Partitions[i];
            string name = $"partitions[{i}]";
            Check(p is not null, name, "null", frameOffset, "is missing");
            CheckExtent(p!.StartBytes, p.SizeBytes, $"{name}.startBytes", $"{name}.sizeBytes", frameOffset);
            if (Table.Kind == "none")
            {
                // A disk without a table is captured as one partition, numbered 0, that is the whole disk (DiskLayout).
                Check(Partitions.Count == 1 && p.Number == 0, $"{name}.number", p.Number, frameOffset,
                    "a disk without a partition table is one partition numbered 0");
                Check(p.StartBytes == 0 && p.SizeBytes == Source.SizeBytes, $"{name}.sizeBytes", $"{p.StartBytes}+{p.SizeBytes}", frameOffset,
                    $"the one partition of a disk without a table is the whole {Source.SizeBytes}-byte disk");
            }
            else
            {
                Check(p.Number is >= 1 and <= MaxPartitionNumber, $"{name}.number", p.Number, frameOffset, $"must be 1..{MaxPartitionNumber}");
                CheckSectors(p.StartBytes, p.SizeBytes, name, frameOffset);
            }
            Check(numbers.Add(p.Number), $"{name}.number", p.Number, frameOffset, "is given to two partitions");
            Check(p.BlockSize >= 512 && p.BlockSize <= MaxBlockSize && BitOperations.IsPow2(p.BlockSize), $"{name}.blockSize", p.BlockSize,
                frameOffset, $"must be a power of two from 512 to {MaxBlockSize}");
            // The filesystem lies inside its partition; its last cluster may end past it by less than one cluster.
            long blocksInPartition = (p.SizeBytes + p.BlockSize - 1) / p.BlockSize;
            Check(p.BlockCount >= 0 && p.BlockCount <= blocksInPartition, $"{name}.blockCount", p.BlockCount, frameOffset,
                $"must be 0..{blocksInPartition}: that many {p.BlockSize}-byte blocks fill the {p.SizeBytes}-byte partition");
            Check(p.UsedBlocks >= 0 && p.UsedBlocks <= p.BlockCount, $"{name}.usedBlocks", p.UsedBlocks, frameOffset,
                $"must be 0..{p.BlockCount} (blockCount)");
            if ((p.Fixups ?? []).FirstOrDefault(f => !PartitionInfo.KnownFixups.Contains(f)) is { } unknown)
            {
                Check(false, $"{name}.fixups", unknown, frameOffset, "names a restore step this LiveImager does not know; a newer LiveImager wrote this image");
            }
            extents.Add((p.StartBytes, p.StartBytes + p.SizeBytes, $"{name}.startBytes"));
        }
        for (int i = 0; i < Regions.Count; i++)
        {
            RegionInfo r = Regions[i];
            string name = $"regions[{i}]";
            Check(r is not null, name, "null", frameOffset, "is missing");
            Check(s_regionKinds.Contains(r!.Kind), $"{name}.kind", r.Kind, frameOffset, $"must be one of {string.Join(", ", s_regionKinds)}");
            CheckExtent(r.StartBytes, r.SizeBytes, $"{name}.startBytes", $"{name}.sizeBytes", frameOffset);
            CheckSectors(r.StartBytes, r.SizeBytes, name, frameOffset);
            extents.Add((r.StartBytes, r.StartBytes + r.SizeBytes, $"{name}.startBytes"));
        }
        if (Compression is { } c)
        {
            Check(c.LowestLevel is >= 1 and <= 22 && c.HighestLevel >= c.LowestLevel && c.HighestLevel <= 22, "compression",
                $"levels {c.LowestLevel}..{c.HighestLevel}", frameOffset, "zstd levels are 1..22, the lowest first");
        }
        if (Base is { } b)
        {
            // The name is joined to the image's own directory to find the base: a plain file name, nothing that leaves it.
            Check(b.Name is { Length: > 0 and <= 255 } && b.Name.IndexOfAny(['/', '\0']) < 0 && b.Name is not ("." or ".."),
                "base.name", b.Name, frameOffset, "must be a file name (no directory) of 1..255 characters");
        }
        extents.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
        for (int i = 1; i < extents.Count; i++)
        {
            Check(extents[i].Start >= extents[i - 1].End, extents[i].Name, extents[i].Start, frameOffset,
                $"overlaps {extents[i - 1].Name[..extents[i - 1].Name.IndexOf('.')]}, which ends at {extents[i - 1].End}");
        }
    }

    /// <summary>Checks what the metadata must say given the image's header: an incremental image, and only one, names
    /// its base. Run by every reader after <see cref="Parse"/>.</summary>
    public void CheckAgainst(in ImageHeader header, long frameOffset) =>
        Check(header.IsIncremental == Base is not null, "base", Base?.Name ?? "null", frameOffset,
            header.IsIncremental ? "an incremental image must name its base image" : "only an incremental image names a base image");

    /// <summary>The used-map bytes a partition's <see cref="PartitionInfo.BlockCount"/> needs: one bit a block.</summary>
    public static long UsedMapBytes(PartitionInfo partition) => (partition.BlockCount + 7) / 8;

    private void CheckExtent(long start, long size, string startField, string sizeField, long frameOffset)
    {
        Check(start >= 0 && start <= Source.SizeBytes, startField, start, frameOffset, $"must be 0..{Source.SizeBytes} (the source disk's size)");
        Check(size >= 0 && size <= Source.SizeBytes - start, sizeField, size, frameOffset,
            $"must be 0..{Source.SizeBytes - start}: the range must end inside the {Source.SizeBytes}-byte source disk");
    }

    /// <summary>Partitions and the regions between them are whole sectors of the table, at least one.</summary>
    private void CheckSectors(long start, long size, string name, long frameOffset)
    {
        int sector = Table.SectorSize;
        Check(start % sector == 0, $"{name}.startBytes", start, frameOffset, $"must be a multiple of the table's {sector}-byte sector");
        Check(size > 0 && size % sector == 0, $"{name}.sizeBytes", size, frameOffset, $"must be a positive multiple of the table's {sector}-byte sector");
    }

    private static bool IsSectorSize(int value, int max) => value >= 512 && value <= max && BitOperations.IsPow2(value);

    private static void Check(bool holds, string field, object? value, long frameOffset, string rule)
    {
        if (!holds)
        {
            throw new DiskFormatException(Structure, field, value, frameOffset, rule);
        }
    }
}
