using System.Numerics;

namespace LiveImager.Formats.Partitions;

/// <summary>Reads a disk's MBR or GPT into a <see cref="PartitionTable"/>, with the regions outside its partitions.</summary>
/// <remarks>Split by concern: this file decides which table a disk carries and describes the regions;
/// <c>.Mbr.cs</c> and <c>.Gpt.cs</c> read each kind. Corrupt tables throw <see cref="DiskFormatException"/>.</remarks>
public static partial class PartitionTableReader
{
    /// <summary>Reads the partition table of <paramref name="disk"/>, whose logical sectors are
    /// <paramref name="sectorSize"/> bytes (512 or 4096; any power of two 512..65536 is accepted).</summary>
    public static PartitionTable Read(IBlockSource disk, int sectorSize)
    {
        if (sectorSize < MasterBootRecord.Size || sectorSize > 65536 || !BitOperations.IsPow2(sectorSize))
        {
            throw new ArgumentOutOfRangeException(nameof(sectorSize), sectorSize, "must be a power of two 512..65536");
        }
        if (disk.Length < sectorSize)
        {
            return NoTable(disk, sectorSize);
        }
        var sector0 = new byte[sectorSize];
        disk.ReadAt(0, sector0);
        var mbr = MasterBootRecord.Parse(sector0);
        // As Linux's msdos parser: no signature, a boot indicator other than 0x00/0x80, or a filesystem's boot
        // sector means the disk holds no table; the whole disk is then analysed as one filesystem.
        if (!mbr.HasSignature || mbr.IsFileSystemBootSector || mbr.Records.Any(r => !r.HasValidStatus))
        {
            return NoTable(disk, sectorSize);
        }
        if (mbr.Records.Any(r => r.Type == MbrPartitionRecord.GptProtectiveType))
        {
            var warnings = new List<string>();
            int others = mbr.Records.Count(r => !r.IsEmpty && r.Type != MbrPartitionRecord.GptProtectiveType);
            if (others > 0)
            {
                warnings.Add($"hybrid MBR: {others} MBR partition record(s) beside the GPT protective record; " +
                    "the GPT is used and the MBR records are kept as they are");
            }
            return ReadGpt(disk, sectorSize, warnings);
        }
        if (mbr.Records.All(r => r.IsEmpty))
        {
            // An MBR with no partitions describes nothing to trust; copying the whole disk is the safe reading.
            return NoTable(disk, sectorSize);
        }
        return ReadMbr(disk, sectorSize, mbr);
    }

    private static PartitionTable NoTable(IBlockSource disk, int sectorSize) =>
        new(PartitionTableKind.None, sectorSize, disk.Length, [], [], []);

    /// <summary>Throws when two partitions share bytes; <paramref name="partitions"/> in any order.</summary>
    private static void CheckNoOverlap(string structure, IReadOnlyList<PartitionEntry> partitions)
    {
        var byStart = partitions.OrderBy(p => p.StartBytes).ToList();
        for (int i = 1; i < byStart.Count; i++)
        {
            if (byStart[i].StartBytes < byStart[i - 1].EndBytes)
            {
                throw new DiskFormatException(structure, $"partition {byStart[i].Number} start", byStart[i].StartBytes,
                    byStart[i].StartBytes,
                    $"overlaps partition {byStart[i - 1].Number} (bytes {byStart[i - 1].StartBytes}..{byStart[i - 1].EndBytes - 1})");
            }
        }
    }

    /// <summary>Every byte of the disk outside the partitions, classified, ascending and merged.</summary>
    /// <param name="tableAreas">The table's own sectors (kind <see cref="DiskRegionKind.PartitionTable"/> or
    /// <see cref="DiskRegionKind.GptBackup"/>); none may overlap a partition.</param>
    private static List<DiskRegion> DescribeRegions(string structure, long diskBytes, IReadOnlyList<DiskRegion> tableAreas,
        IReadOnlyList<PartitionEntry> partitions)
    {
        foreach (var area in tableAreas)
        {
            foreach (var partition in partitions)
            {
                if (partition.StartBytes < area.StartBytes + area.SizeBytes && area.StartBytes < partition.EndBytes)
                {
                    throw new DiskFormatException(structure, $"partition {partition.Number} start", partition.StartBytes,
                        partition.StartBytes,
                        $"the partition (bytes {partition.StartBytes}..{partition.EndBytes - 1}) overlaps the table's own " +
                        $"sectors at bytes {area.StartBytes}..{area.StartBytes + area.SizeBytes - 1}");
                }
            }
        }
        long firstPartition = partitions.Count == 0 ? 0 : partitions.Min(p => p.StartBytes);
        var occupied = tableAreas.Select(a => (a.StartBytes, End: a.StartBytes + a.SizeBytes, Kind: (DiskRegionKind?)a.Kind))
            .Concat(partitions.Select(p => (p.StartBytes, End: p.EndBytes, Kind: (DiskRegionKind?)null)))
            .OrderBy(o => o.StartBytes)
            .ToList();
        var regions = new List<DiskRegion>();
        long cursor = 0;
        foreach (var (start, end, kind) in occupied)
        {
            if (start > cursor)
            {
                // Only the gap right after the leading table and before the first partition is the boot loader's.
                bool afterLeadingTable = regions.Count == 1 && regions[0].StartBytes == 0 &&
                    regions[0].Kind == DiskRegionKind.PartitionTable;
                Add(regions, afterLeadingTable && start <= firstPartition ? DiskRegionKind.BootLoaderGap : DiskRegionKind.Unpartitioned,
                    cursor, start);
            }
            if (kind is { } k && end > cursor)
            {
                Add(regions, k, Math.Max(start, cursor), end);
            }
            cursor = Math.Max(cursor, end);
        }
        if (cursor < diskBytes)
        {
            Add(regions, DiskRegionKind.Unpartitioned, cursor, diskBytes);
        }
        return regions;
    }

    private static void Add(List<DiskRegion> regions, DiskRegionKind kind, long start, long end)
    {
        if (regions.Count > 0 && regions[^1].Kind == kind && regions[^1].StartBytes + regions[^1].SizeBytes == start)
        {
            regions[^1] = regions[^1] with { SizeBytes = end - regions[^1].StartBytes };
        }
        else
        {
            regions.Add(new DiskRegion(kind, start, end - start));
        }
    }
}
