using System.Buffers.Binary;

namespace LiveImager.Formats.Partitions;

/// <summary>A source disk's MBR moved onto a smaller disk with partitions at new places (<see cref="FitPlanner"/>):
/// primary records get their new StartingLBA and SizeInLBA, the extended partition ends after its last logical one, and
/// each logical partition's EBR moves with it, keeping its distance before the partition, its first record the
/// partition and its second the link to the next EBR. Boot code, disk signature and types stay.</summary>
public static class MbrFit
{
    /// <summary>The sectors to write on the target, as (byte offset, sector): the MBR and every EBR.</summary>
    /// <exception cref="DiskFormatException">The captured table is corrupt, or a placement names no partition of it.</exception>
    public static IReadOnlyList<(long Offset, byte[] Sector)> Create(IBlockSource disk, int sectorSize, IReadOnlyList<FitPlacement> placements)
    {
        PartitionTable table = PartitionTableReader.Read(disk, sectorSize);
        if (table.Kind != PartitionTableKind.Mbr)
        {
            throw new DiskFormatException("MBR", "kind", table.Kind, 0, "the image's disk does not hold an MBR");
        }
        Dictionary<int, FitPlacement> byNumber = placements.ToDictionary(p => p.Source.Number);
        foreach (PartitionEntry entry in table.Partitions.Where(e => !byNumber.ContainsKey(e.Number)))
        {
            throw new DiskFormatException("MBR", "partition", entry.Number, 0, "has no place in the plan");
        }
        var sectors = new List<(long, byte[])>();
        var mbr = new byte[sectorSize];
        disk.ReadAt(0, mbr);

        long extendedStart = 0;
        long extendedSlot = -1;
        var ebrs = new List<(long OldLba, byte[] Sector)>();
        if (table.ExtendedPartition is { } extended)
        {
            extendedSlot = extended.Number - 1;
            extendedStart = extended.StartBytes / sectorSize;
            // The chain as the reader validated it: one EBR per logical partition, in the order of their numbers.
            long lba = extendedStart;
            for (int i = 0; i < PartitionTableReader.MaxLogicalPartitions; i++)
            {
                var sector = new byte[sectorSize];
                disk.ReadAt(lba * sectorSize, sector);
                var ebr = MasterBootRecord.Parse(sector);
                if (!ebr.HasSignature)
                {
                    break;
                }
                ebrs.Add((lba, sector));
                if (ebr.Records[1].IsEmpty)
                {
                    break;
                }
                lba = extendedStart + ebr.Records[1].FirstLba;
            }
        }

        // New EBR places: each keeps its distance before its logical partition.
        var newEbrLba = new long[ebrs.Count];
        var logicalNumbers = new int[ebrs.Count];
        for (int i = 0; i < ebrs.Count; i++)
        {
            var record = MasterBootRecord.Parse(ebrs[i].Sector).Records[0];
            long oldStart = ebrs[i].OldLba + record.FirstLba;
            PartitionEntry logical = table.Partitions.FirstOrDefault(p => p.Number >= 5 && p.StartBytes == oldStart * sectorSize)
                ?? throw new DiskFormatException($"EBR at sector {ebrs[i].OldLba}", "StartingLBA", record.FirstLba, ebrs[i].OldLba * sectorSize,
                    "names no logical partition");
            logicalNumbers[i] = logical.Number;
            newEbrLba[i] = byNumber[logical.Number].NewStartBytes / sectorSize - record.FirstLba;
        }
        long newExtendedStart = ebrs.Count == 0 ? extendedStart : newEbrLba[0] - (ebrs[0].OldLba - extendedStart);
        for (int i = 0; i < ebrs.Count; i++)
        {
            byte[] sector = ebrs[i].Sector;
            FitPlacement placement = byNumber[logicalNumbers[i]];
            SetRecord(sector, 0, null, placement.NewSizeBytes / sectorSize);
            if (i + 1 < ebrs.Count)
            {
                long nextEnd = byNumber[logicalNumbers[i + 1]].NewEndBytes / sectorSize;
                SetRecord(sector, 1, newEbrLba[i + 1] - newExtendedStart, nextEnd - newEbrLba[i + 1]);
            }
            sectors.Add((newEbrLba[i] * sectorSize, sector));
        }

        for (int slot = 0; slot < MasterBootRecord.RecordCount; slot++)
        {
            if (slot == extendedSlot)
            {
                long end = ebrs.Count == 0 ? newExtendedStart + 1 : byNumber[logicalNumbers[^1]].NewEndBytes / sectorSize;
                SetRecord(mbr, slot, newExtendedStart, end - newExtendedStart);
            }
            else if (byNumber.TryGetValue(slot + 1, out FitPlacement? placement))
            {
                SetRecord(mbr, slot, placement.NewStartBytes / sectorSize, placement.NewSizeBytes / sectorSize);
            }
        }
        sectors.Insert(0, (0, mbr));
        return sectors;
    }

    private static void SetRecord(Span<byte> sector, int slot, long? firstLba, long sectorCount)
    {
        int offset = MasterBootRecord.RecordOffset(slot);
        if (firstLba is { } first)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sector[(offset + MbrPartitionRecord.FirstLbaOffset)..], checked((uint)first));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(sector[(offset + MbrPartitionRecord.SectorCountOffset)..], checked((uint)sectorCount));
    }
}
