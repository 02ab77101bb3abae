using System.Buffers.Binary;

namespace LiveImager.Formats.Partitions;

public static partial class PartitionTableReader
{
    /// <summary>The primary GPT header's sector (UEFI 2.10 §5.3.1).</summary>
    private const long PrimaryHeaderLba = 1;

    /// <summary>Where the primary entry array usually starts, assumed when the primary header is unreadable.</summary>
    private const long UsualPrimaryEntryLba = 2;

    /// <summary>One copy of the GPT as read and validated: header and entries.</summary>
    private sealed record GptCopy(GptHeader Header, IReadOnlyList<PartitionEntry> Partitions);

    private static PartitionTable ReadGpt(IBlockSource disk, int sectorSize, List<string> warnings)
    {
        long diskSectors = disk.Length / sectorSize;
        long lastLba = diskSectors - 1;
        GptCopy table;
        long primaryEntryLba;
        try
        {
            table = ReadGptCopy(disk, sectorSize, PrimaryHeaderLba);
            primaryEntryLba = (long)table.Header.PartitionEntryLba;
            long alternate = (long)table.Header.AlternateLba;
            try
            {
                ReadGptCopy(disk, sectorSize, alternate);
            }
            catch (DiskFormatException e)
            {
                warnings.Add($"GPT backup is damaged and will be rewritten from the primary on restore: {e.Message}");
            }
            if (alternate != lastLba)
            {
                warnings.Add($"GPT backup header is at sector {alternate}, not at the disk's last sector {lastLba}: " +
                    "the disk is larger than the one the table was made for");
            }
        }
        catch (DiskFormatException primaryError)
        {
            table = ReadGptBackup(disk, sectorSize, lastLba, primaryError);
            primaryEntryLba = UsualPrimaryEntryLba;
            warnings.Add($"GPT primary header or entries are damaged; the backup at sector {table.Header.MyLba} was used: " +
                primaryError.Message);
        }

        var header = table.Header;
        // With the primary header unreadable, its array is assumed as large as the backup's, up to the usable area.
        long arrayBytes = Math.Min(header.EntryArraySectors(sectorSize), (long)header.FirstUsableLba - primaryEntryLba) * sectorSize;
        long backupStart = ((long)header.LastUsableLba + 1) * sectorSize;
        long backupHeaderLba = header.MyLba == PrimaryHeaderLba ? (long)header.AlternateLba : (long)header.MyLba;
        DiskRegion[] tableAreas =
        [
            new(DiskRegionKind.PartitionTable, 0, 2L * sectorSize),
            new(DiskRegionKind.PartitionTable, primaryEntryLba * sectorSize, arrayBytes),
            new(DiskRegionKind.GptBackup, backupStart, (backupHeaderLba + 1) * sectorSize - backupStart),
        ];
        var regions = DescribeRegions("GPT", disk.Length, tableAreas, table.Partitions);
        return new PartitionTable(PartitionTableKind.Gpt, sectorSize, disk.Length, table.Partitions, regions, warnings);
    }

    /// <summary>Reads the backup copy: at the damaged primary's AlternateLBA when that header still names a sector
    /// of the disk, else at the disk's last sector.</summary>
    private static GptCopy ReadGptBackup(IBlockSource disk, int sectorSize, long lastLba, DiskFormatException primaryError)
    {
        var candidates = new List<long>();
        if (lastLba > PrimaryHeaderLba)
        {
            var sector = new byte[sectorSize];
            try
            {
                disk.ReadAt(PrimaryHeaderLba * sectorSize, sector);
                var damaged = GptHeader.Parse(sector);
                if (damaged.Signature == GptHeader.EfiPartSignature && damaged.AlternateLba > PrimaryHeaderLba &&
                    damaged.AlternateLba < (ulong)lastLba)
                {
                    candidates.Add((long)damaged.AlternateLba);
                }
            }
            catch (DiskFormatException)
            {
                // An unreadable primary sector (a failing disk, as the source reports it) names no alternate.
            }
        }
        candidates.Add(lastLba);
        DiskFormatException? backupError = null;
        foreach (long lba in candidates)
        {
            try
            {
                return ReadGptCopy(disk, sectorSize, lba);
            }
            catch (DiskFormatException e)
            {
                backupError ??= e;
            }
        }
        throw new DiskFormatException("GPT", $"primary and backup are both unusable: primary: {primaryError.Message}; " +
            $"backup: {backupError!.Message}{OtherSectorSizeHint(disk, sectorSize)}");
    }

    /// <summary>A hint when a GPT header sits where the other common sector size would put it: a disk partitioned
    /// behind a USB bridge that reported 4096-byte sectors, or the other way round.</summary>
    private static string OtherSectorSizeHint(IBlockSource disk, int sectorSize)
    {
        long other = sectorSize == 4096 ? 512 : 4096;
        Span<byte> signature = stackalloc byte[sizeof(ulong)];
        if (other == sectorSize || disk.Length < other + signature.Length)
        {
            return string.Empty;
        }
        disk.ReadAt(other, signature);
        return BinaryPrimitives.ReadUInt64LittleEndian(signature) == GptHeader.EfiPartSignature
            ? $" (a GPT header is at byte {other}: the table was made for {other}-byte sectors)"
            : string.Empty;
    }

    /// <summary>Reads and validates the header at <paramref name="lba"/>, its entry array and its entries.</summary>
    private static GptCopy ReadGptCopy(IBlockSource disk, int sectorSize, long lba)
    {
        long diskSectors = disk.Length / sectorSize;
        long headerOffset = lba * sectorSize;
        if (lba <= 0 || lba >= diskSectors)
        {
            throw new DiskFormatException("GPT header", "MyLBA", lba, headerOffset,
                $"the disk has only {diskSectors} sectors of {sectorSize} bytes");
        }
        var sector = new byte[sectorSize];
        disk.ReadAt(headerOffset, sector);
        var header = GptHeader.Parse(sector);
        header.Validate(sector, (ulong)lba, (ulong)diskSectors, headerOffset);

        var array = new byte[header.EntryArrayBytes];
        long arrayOffset = (long)header.PartitionEntryLba * sectorSize;
        disk.ReadAt(arrayOffset, array);
        header.ValidateEntryArray(array, headerOffset);

        var partitions = new List<PartitionEntry>();
        int entrySize = (int)header.SizeOfPartitionEntry;
        for (int index = 0; index < header.NumberOfPartitionEntries; index++)
        {
            var entry = GptPartitionEntry.Parse(array.AsSpan(index * entrySize, entrySize));
            if (entry.IsUnused)
            {
                continue;
            }
            long entryOffset = arrayOffset + (long)index * entrySize;
            string structure = $"GPT partition entry {index + 1}";
            if (entry.StartingLba < header.FirstUsableLba || entry.StartingLba > header.LastUsableLba)
            {
                throw new DiskFormatException(structure, "StartingLBA", entry.StartingLba,
                    entryOffset + GptPartitionEntry.StartingLbaOffset,
                    $"outside the usable sectors {header.FirstUsableLba}..{header.LastUsableLba}");
            }
            if (entry.EndingLba < entry.StartingLba || entry.EndingLba > header.LastUsableLba)
            {
                throw new DiskFormatException(structure, "EndingLBA", entry.EndingLba,
                    entryOffset + GptPartitionEntry.EndingLbaOffset,
                    $"must be StartingLBA ({entry.StartingLba})..LastUsableLBA ({header.LastUsableLba})");
            }
            partitions.Add(new PartitionEntry(index + 1, (long)entry.StartingLba * sectorSize,
                (long)(entry.EndingLba - entry.StartingLba + 1) * sectorSize, entry.PartitionTypeGuid.ToString(),
                entry.Name.Length == 0 ? null : entry.Name, entry.UniquePartitionGuid.ToString()));
        }
        CheckNoOverlap("GPT", partitions);
        return new GptCopy(header, partitions);
    }
}
