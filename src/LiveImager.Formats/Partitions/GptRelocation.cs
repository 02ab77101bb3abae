using System.Buffers.Binary;

namespace LiveImager.Formats.Partitions;

/// <summary>The GPT structures to write after restoring a disk's primary GPT onto a disk of another size: the
/// primary header with its new alternate and last usable LBAs, and the backup entry array and header at the end.</summary>
/// <param name="PrimaryHeader">The new primary header sector, for LBA 1.</param>
/// <param name="BackupEntriesLba">Where <paramref name="BackupEntries"/> goes.</param>
/// <param name="BackupEntries">The entry array, whole sectors.</param>
/// <param name="BackupHeaderLba">Where <paramref name="BackupHeader"/> goes: the new disk's last sector.</param>
/// <param name="BackupHeader">The new backup header sector.</param>
/// <param name="ProtectiveMbrSectorCount">SizeInLBA of the protective MBR's 0xEE record on the new disk.</param>
public sealed record GptRelocation(
    byte[] PrimaryHeader,
    long BackupEntriesLba,
    byte[] BackupEntries,
    long BackupHeaderLba,
    byte[] BackupHeader,
    uint ProtectiveMbrSectorCount)
{
    /// <summary>Computes the relocation from the primary header sector and the primary entry array (at least
    /// NumberOfPartitionEntries × SizeOfPartitionEntry bytes) for a disk of <paramref name="newDiskSectors"/> sectors.</summary>
    /// <exception cref="DiskFormatException">The header or entry array is corrupt, or a partition does not fit the new disk.</exception>
    public static GptRelocation Create(ReadOnlySpan<byte> primaryHeaderSector, ReadOnlySpan<byte> entryArray, long newDiskSectors)
    {
        int sectorSize = primaryHeaderSector.Length;
        var header = GptHeader.Parse(primaryHeaderSector);
        // The old AlternateLBA may lie past a smaller disk, so the header is checked against the larger of the two.
        ulong checkSectors = Math.Max((ulong)newDiskSectors, Math.Max(header.AlternateLba, header.LastUsableLba) + 1);
        header.Validate(primaryHeaderSector, 1, checkSectors, sectorSize);
        long arrayOffset = (long)header.PartitionEntryLba * sectorSize;
        if (entryArray.Length < header.EntryArrayBytes)
        {
            throw new DiskFormatException("GPT entry array", "length", entryArray.Length, arrayOffset,
                $"shorter than the header's {header.NumberOfPartitionEntries} entries of {header.SizeOfPartitionEntry} bytes");
        }
        header.ValidateEntryArray(entryArray, sectorSize);

        long arraySectors = header.EntryArraySectors(sectorSize);
        long backupHeaderLba = newDiskSectors - 1;
        long backupEntriesLba = backupHeaderLba - arraySectors;
        long lastUsable = backupEntriesLba - 1;
        if (lastUsable < (long)header.FirstUsableLba)
        {
            throw new DiskFormatException("GPT", "new disk size", newDiskSectors, -1,
                $"too small for a GPT whose first usable sector is {header.FirstUsableLba}");
        }
        int entrySize = (int)header.SizeOfPartitionEntry;
        for (int index = 0; index < header.NumberOfPartitionEntries; index++)
        {
            var entry = GptPartitionEntry.Parse(entryArray.Slice(index * entrySize, entrySize));
            if (!entry.IsUnused && entry.EndingLba > (ulong)lastUsable)
            {
                throw new DiskFormatException($"GPT partition entry {index + 1}", "EndingLBA", entry.EndingLba,
                    arrayOffset + (long)index * entrySize + GptPartitionEntry.EndingLbaOffset,
                    $"past the new disk's last usable sector {lastUsable}");
            }
        }

        var primary = primaryHeaderSector.ToArray();
        (header with { AlternateLba = (ulong)backupHeaderLba, LastUsableLba = (ulong)lastUsable }).WriteTo(primary);

        var backup = primaryHeaderSector.ToArray();
        (header with
        {
            MyLba = (ulong)backupHeaderLba,
            AlternateLba = 1,
            LastUsableLba = (ulong)lastUsable,
            PartitionEntryLba = (ulong)backupEntriesLba,
        }).WriteTo(backup);

        var entries = new byte[arraySectors * sectorSize];
        entryArray[..Math.Min(entries.Length, entryArray.Length)].CopyTo(entries);

        uint mbrCount = (uint)Math.Min(newDiskSectors - 1, uint.MaxValue);
        return new GptRelocation(primary, backupEntriesLba, entries, backupHeaderLba, backup, mbrCount);
    }

    /// <summary>Sets the size of a protective MBR's 0xEE record to cover the new disk; a hybrid MBR (other records
    /// beside 0xEE) is left as it is, since its 0xEE record deliberately covers only part of the disk.</summary>
    /// <returns>True when the MBR was changed.</returns>
    public bool UpdateProtectiveMbr(Span<byte> mbrSector)
    {
        var mbr = MasterBootRecord.Parse(mbrSector);
        if (!mbr.HasSignature || mbr.Records.Count(r => !r.IsEmpty) != 1)
        {
            return false;
        }
        for (int slot = 0; slot < MasterBootRecord.RecordCount; slot++)
        {
            if (mbr.Records[slot].Type == MbrPartitionRecord.GptProtectiveType && mbr.Records[slot].FirstLba == 1)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(
                    mbrSector[(MasterBootRecord.RecordOffset(slot) + MbrPartitionRecord.SectorCountOffset)..],
                    ProtectiveMbrSectorCount);
                return true;
            }
        }
        return false;
    }
}
