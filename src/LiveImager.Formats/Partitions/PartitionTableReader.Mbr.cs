namespace LiveImager.Formats.Partitions;

public static partial class PartitionTableReader
{
    /// <summary>The most EBRs followed: Linux's limit on partitions of one disk (DISK_MAX_PARTS).</summary>
    public const int MaxLogicalPartitions = 256;

    /// <summary>The first number Linux gives a logical partition.</summary>
    private const int FirstLogicalNumber = 5;

    private static PartitionTable ReadMbr(IBlockSource disk, int sectorSize, MasterBootRecord mbr)
    {
        long diskSectors = disk.Length / sectorSize;
        var partitions = new List<PartitionEntry>();
        var tableAreas = new List<DiskRegion> { new(DiskRegionKind.PartitionTable, 0, sectorSize) };
        PartitionEntry? extended = null;
        for (int slot = 0; slot < MasterBootRecord.RecordCount; slot++)
        {
            var record = mbr.Records[slot];
            if (record.IsEmpty)
            {
                continue;
            }
            long recordOffset = MasterBootRecord.RecordOffset(slot);
            string structure = $"MBR partition record {slot + 1}";
            CheckInside(structure, record.FirstLba, record.SectorCount, 1, diskSectors, recordOffset, "the disk");
            var entry = new PartitionEntry(slot + 1, record.FirstLba * (long)sectorSize, record.SectorCount * (long)sectorSize,
                $"0x{record.Type:x2}", null, null);
            if (!record.IsExtended)
            {
                partitions.Add(entry);
                continue;
            }
            if (extended is not null)
            {
                throw new DiskFormatException(structure, "OSType", $"0x{record.Type:x2}", recordOffset,
                    $"a second extended partition (the first is record {extended.Number})");
            }
            extended = entry;
            ReadLogicalPartitions(disk, sectorSize, record.FirstLba, record.SectorCount, partitions, tableAreas);
        }
        CheckNoOverlap("MBR", partitions);
        var regions = DescribeRegions("MBR", disk.Length, tableAreas, partitions);
        return new PartitionTable(PartitionTableKind.Mbr, sectorSize, disk.Length,
            partitions.OrderBy(p => p.Number).ToList(), regions, [])
        {
            ExtendedPartition = extended,
        };
    }

    /// <summary>Follows the chain of EBRs inside the extended partition at sectors [start, start+count).</summary>
    /// <remarks>Each EBR's first record is a logical partition relative to the EBR; its second links to the next EBR
    /// relative to the extended partition's start. Links are bounded to the extended partition, a revisited EBR is
    /// a loop, and the chain is cut at <see cref="MaxLogicalPartitions"/>.</remarks>
    private static void ReadLogicalPartitions(IBlockSource disk, int sectorSize, long start, long count,
        List<PartitionEntry> partitions, List<DiskRegion> tableAreas)
    {
        var sector = new byte[MasterBootRecord.Size];
        var visited = new HashSet<long>();
        int number = FirstLogicalNumber;
        long ebrLba = start;
        while (true)
        {
            long ebrOffset = ebrLba * sectorSize;
            disk.ReadAt(ebrOffset, sector);
            var ebr = MasterBootRecord.Parse(sector);
            if (!ebr.HasSignature)
            {
                if (ebrLba == start && !sector.AsSpan().ContainsAnyExcept((byte)0))
                {
                    // An extended partition with no logical partitions yet: its first EBR was never written.
                    return;
                }
                throw new DiskFormatException("EBR", "Signature", $"0x{ebr.Signature:x4}", ebrOffset + 0x1FE, "not 0xAA55");
            }
            visited.Add(ebrLba);
            tableAreas.Add(new DiskRegion(DiskRegionKind.PartitionTable, ebrOffset, sectorSize));

            var logical = ebr.Records[0];
            if (!logical.IsEmpty)
            {
                long logicalOffset = ebrOffset + MasterBootRecord.RecordOffset(0);
                CheckInside($"EBR at sector {ebrLba} logical partition record", ebrLba + logical.FirstLba, logical.SectorCount,
                    ebrLba + 1, start + count, logicalOffset, "the extended partition after its EBR");
                partitions.Add(new PartitionEntry(number++, (ebrLba + logical.FirstLba) * sectorSize,
                    logical.SectorCount * (long)sectorSize, $"0x{logical.Type:x2}", null, null));
            }

            var link = ebr.Records[1];
            if (link.IsEmpty)
            {
                return;
            }
            long linkOffset = ebrOffset + MasterBootRecord.RecordOffset(1) + MbrPartitionRecord.FirstLbaOffset;
            long next = start + link.FirstLba;
            if (next >= start + count)
            {
                throw new DiskFormatException($"EBR at sector {ebrLba}", "next EBR StartingLBA", link.FirstLba, linkOffset,
                    $"the next EBR at sector {next} is not inside the extended partition (sectors {start}..{start + count - 1})");
            }
            if (visited.Contains(next))
            {
                throw new DiskFormatException($"EBR at sector {ebrLba}", "next EBR StartingLBA", link.FirstLba, linkOffset,
                    $"links back to the EBR at sector {next}: the EBR chain is a loop");
            }
            if (visited.Count >= MaxLogicalPartitions)
            {
                throw new DiskFormatException($"EBR at sector {ebrLba}", "next EBR StartingLBA", link.FirstLba, linkOffset,
                    $"the EBR chain is longer than {MaxLogicalPartitions}");
            }
            ebrLba = next;
        }
    }

    /// <summary>Throws unless sectors [first, first+count) lie inside [lowest, end).</summary>
    private static void CheckInside(string structure, long first, long count, long lowest, long end, long recordOffset, string within)
    {
        if (first < lowest || first >= end)
        {
            throw new DiskFormatException(structure, "StartingLBA", first, recordOffset + MbrPartitionRecord.FirstLbaOffset,
                $"outside {within} (sectors {lowest}..{end - 1})");
        }
        if (count > end - first)
        {
            throw new DiskFormatException(structure, "SizeInLBA", count, recordOffset + MbrPartitionRecord.SectorCountOffset,
                $"the partition ends at sector {first + count - 1}, past the end of {within} (sector {end - 1})");
        }
    }
}
