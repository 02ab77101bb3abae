using System.Buffers.Binary;
using System.IO.Hashing;

namespace LiveImager.Formats.Partitions;

/// <summary>A source disk's GPT moved onto a smaller disk with partitions at new places (<see cref="FitPlanner"/>):
/// every entry keeps its type, GUID, attributes and name, only its StartingLBA and EndingLBA change; the header keeps
/// its disk GUID; the backup goes to the new disk's end.</summary>
public static class GptFit
{
    /// <summary>The GPT structures for the target: <paramref name="primaryHeaderSector"/> and
    /// <paramref name="entryArray"/> as captured, <paramref name="placements"/> by partition number (entry index + 1).</summary>
    /// <exception cref="DiskFormatException">The captured GPT is corrupt, or a placement names no used entry.</exception>
    public static GptRelocation Create(ReadOnlySpan<byte> primaryHeaderSector, ReadOnlySpan<byte> entryArray,
        IReadOnlyList<FitPlacement> placements, long newDiskSectors)
    {
        int sectorSize = primaryHeaderSector.Length;
        var header = GptHeader.Parse(primaryHeaderSector);
        ulong checkSectors = Math.Max(header.AlternateLba, header.LastUsableLba) + 1;
        header.Validate(primaryHeaderSector, 1, checkSectors, sectorSize);
        if (entryArray.Length < header.EntryArrayBytes)
        {
            throw new DiskFormatException("GPT entry array", "length", entryArray.Length, (long)header.PartitionEntryLba * sectorSize,
                $"shorter than the header's {header.NumberOfPartitionEntries} entries of {header.SizeOfPartitionEntry} bytes");
        }
        header.ValidateEntryArray(entryArray, sectorSize);

        byte[] entries = entryArray[..header.EntryArrayBytes].ToArray();
        int entrySize = (int)header.SizeOfPartitionEntry;
        foreach (FitPlacement placement in placements)
        {
            int index = placement.Source.Number - 1;
            if (index < 0 || index >= header.NumberOfPartitionEntries
                || GptPartitionEntry.Parse(entries.AsSpan(index * entrySize, entrySize)).IsUnused)
            {
                throw new DiskFormatException("GPT entry array", "partition", placement.Source.Number, (long)header.PartitionEntryLba * sectorSize,
                    "names no used entry");
            }
            Span<byte> entry = entries.AsSpan(index * entrySize, entrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[GptPartitionEntry.StartingLbaOffset..], (ulong)(placement.NewStartBytes / sectorSize));
            BinaryPrimitives.WriteUInt64LittleEndian(entry[GptPartitionEntry.EndingLbaOffset..],
                (ulong)(placement.NewEndBytes / sectorSize - 1));
        }
        byte[] primary = primaryHeaderSector.ToArray();
        (header with { PartitionEntryArrayCrc32 = Crc32.HashToUInt32(entries) }).WriteTo(primary);
        // The relocation puts the backup at the new end and checks every entry against the new last usable LBA.
        return GptRelocation.Create(primary, entries, newDiskSectors);
    }
}
