using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;

namespace LiveImager.Formats.Partitions;

/// <summary>A GPT header, primary (LBA 1) or backup (last LBA) (UEFI 2.10 §5.3.2, table 5-5).</summary>
public readonly record struct GptHeader(
    ulong Signature,
    uint Revision,
    uint HeaderSize,
    uint HeaderCrc32,
    ulong MyLba,
    ulong AlternateLba,
    ulong FirstUsableLba,
    ulong LastUsableLba,
    Guid DiskGuid,
    ulong PartitionEntryLba,
    uint NumberOfPartitionEntries,
    uint SizeOfPartitionEntry,
    uint PartitionEntryArrayCrc32)
{
    /// <summary>The bytes of a header the specification defines; the rest of its sector is reserved.</summary>
    public const int MinimumSize = 0x5C;

    /// <summary>"EFI PART" read as a little-endian integer.</summary>
    public const ulong EfiPartSignature = 0x5452415020494645;

    /// <summary>The most bytes an entry array may take: 8192 entries of 128 bytes, 64 times the usual array.</summary>
    public const int MaxEntryArrayBytes = 1 << 20;

    /// <summary>The largest entry size accepted; the specification allows any 128 × 2^n.</summary>
    public const int MaxEntrySize = 4096;

    private const int SignatureOffset = 0x00; // UEFI 2.10 table 5-5 Signature
    private const int RevisionOffset = 0x08; // Revision
    private const int HeaderSizeOffset = 0x0C; // HeaderSize
    private const int HeaderCrc32Offset = 0x10; // HeaderCRC32
    private const int MyLbaOffset = 0x18; // MyLBA
    private const int AlternateLbaOffset = 0x20; // AlternateLBA
    private const int FirstUsableLbaOffset = 0x28; // FirstUsableLBA
    private const int LastUsableLbaOffset = 0x30; // LastUsableLBA
    private const int DiskGuidOffset = 0x38; // DiskGUID
    private const int PartitionEntryLbaOffset = 0x48; // PartitionEntryLBA
    private const int NumberOfPartitionEntriesOffset = 0x50; // NumberOfPartitionEntries
    private const int SizeOfPartitionEntryOffset = 0x54; // SizeOfPartitionEntry
    private const int PartitionEntryArrayCrc32Offset = 0x58; // PartitionEntryArrayCRC32

    private const string Structure = "GPT header";

    /// <summary>Bytes of the entry array (valid after <see cref="Validate"/>).</summary>
    public int EntryArrayBytes => (int)(NumberOfPartitionEntries * SizeOfPartitionEntry);

    /// <summary>Sectors the entry array occupies (valid after <see cref="Validate"/>).</summary>
    public long EntryArraySectors(int sectorSize) => (EntryArrayBytes + sectorSize - 1) / sectorSize;

    public static GptHeader Parse(ReadOnlySpan<byte> sector) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(sector[SignatureOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[RevisionOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[HeaderSizeOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[HeaderCrc32Offset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(sector[MyLbaOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(sector[AlternateLbaOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(sector[FirstUsableLbaOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(sector[LastUsableLbaOffset..]),
        new Guid(sector.Slice(DiskGuidOffset, 16)),
        BinaryPrimitives.ReadUInt64LittleEndian(sector[PartitionEntryLbaOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[NumberOfPartitionEntriesOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[SizeOfPartitionEntryOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[PartitionEntryArrayCrc32Offset..]));

    /// <summary>Checks the header read from <paramref name="sector"/> at byte <paramref name="offset"/> of a disk of
    /// <paramref name="diskSectors"/> sectors, where it was expected at <paramref name="expectedLba"/>.</summary>
    /// <remarks>Everything the entry array's read depends on is bounded here, before the array is read.</remarks>
    public void Validate(ReadOnlySpan<byte> sector, ulong expectedLba, ulong diskSectors, long offset)
    {
        int sectorSize = sector.Length;
        if (Signature != EfiPartSignature)
        {
            Throw("Signature", $"0x{Signature:x16}", offset + SignatureOffset, "not \"EFI PART\"");
        }
        if (Revision >> 16 != 1)
        {
            Throw("Revision", $"0x{Revision:x8}", offset + RevisionOffset, "not a version 1 header");
        }
        if (HeaderSize < MinimumSize || HeaderSize > sectorSize)
        {
            Throw("HeaderSize", HeaderSize, offset + HeaderSizeOffset, $"must be {MinimumSize}..{sectorSize}");
        }
        uint crc = ComputeHeaderCrc(sector);
        if (crc != HeaderCrc32)
        {
            Throw("HeaderCRC32", $"0x{HeaderCrc32:x8}", offset + HeaderCrc32Offset, $"the header's CRC32 is 0x{crc:x8}");
        }
        if (MyLba != expectedLba)
        {
            Throw("MyLBA", MyLba, offset + MyLbaOffset, $"the header was read from sector {expectedLba}");
        }
        if (AlternateLba >= diskSectors || AlternateLba == MyLba)
        {
            Throw("AlternateLBA", AlternateLba, offset + AlternateLbaOffset,
                $"must be another sector of the disk's {diskSectors}");
        }
        if (LastUsableLba >= diskSectors)
        {
            Throw("LastUsableLBA", LastUsableLba, offset + LastUsableLbaOffset,
                $"past the disk's last sector {diskSectors - 1}");
        }
        if (FirstUsableLba > LastUsableLba || FirstUsableLba < 2)
        {
            Throw("FirstUsableLBA", FirstUsableLba, offset + FirstUsableLbaOffset,
                $"must be 2..LastUsableLBA ({LastUsableLba})");
        }
        if (SizeOfPartitionEntry < GptPartitionEntry.MinimumSize || SizeOfPartitionEntry > MaxEntrySize ||
            !BitOperations.IsPow2(SizeOfPartitionEntry))
        {
            Throw("SizeOfPartitionEntry", SizeOfPartitionEntry, offset + SizeOfPartitionEntryOffset,
                $"must be a power of two {GptPartitionEntry.MinimumSize}..{MaxEntrySize}");
        }
        if (NumberOfPartitionEntries == 0 || (ulong)NumberOfPartitionEntries * SizeOfPartitionEntry > MaxEntryArrayBytes)
        {
            Throw("NumberOfPartitionEntries", NumberOfPartitionEntries, offset + NumberOfPartitionEntriesOffset,
                $"must be 1..{MaxEntryArrayBytes / SizeOfPartitionEntry} entries of {SizeOfPartitionEntry} bytes");
        }
        // The array lies between the header and the usable area: after LBA 1 for the primary, between the usable
        // area and the backup header for the backup.
        ulong arraySectors = (ulong)EntryArraySectors(sectorSize);
        bool isPrimary = MyLba < AlternateLba;
        bool fits = isPrimary
            ? PartitionEntryLba > MyLba && PartitionEntryLba + arraySectors <= FirstUsableLba
            : PartitionEntryLba > LastUsableLba && PartitionEntryLba + arraySectors <= MyLba;
        if (!fits)
        {
            Throw("PartitionEntryLBA", PartitionEntryLba, offset + PartitionEntryLbaOffset,
                $"an array of {arraySectors} sectors there overlaps the header or the usable sectors " +
                $"{FirstUsableLba}..{LastUsableLba}");
        }
    }

    /// <summary>Checks <paramref name="entryArray"/> (read from byte <paramref name="offset"/>) against the header's CRC.</summary>
    public void ValidateEntryArray(ReadOnlySpan<byte> entryArray, long headerOffset)
    {
        uint crc = Crc32.HashToUInt32(entryArray[..EntryArrayBytes]);
        if (crc != PartitionEntryArrayCrc32)
        {
            Throw("PartitionEntryArrayCRC32", $"0x{PartitionEntryArrayCrc32:x8}", headerOffset + PartitionEntryArrayCrc32Offset,
                $"the entry array's CRC32 is 0x{crc:x8}");
        }
    }

    /// <summary>Writes the header's fields into <paramref name="sector"/> and sets its CRC; bytes past the fields
    /// (reserved, or a longer header's extra fields) are left as the caller copied them.</summary>
    public void WriteTo(Span<byte> sector)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(sector[SignatureOffset..], Signature);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[RevisionOffset..], Revision);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[HeaderSizeOffset..], HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(sector[MyLbaOffset..], MyLba);
        BinaryPrimitives.WriteUInt64LittleEndian(sector[AlternateLbaOffset..], AlternateLba);
        BinaryPrimitives.WriteUInt64LittleEndian(sector[FirstUsableLbaOffset..], FirstUsableLba);
        BinaryPrimitives.WriteUInt64LittleEndian(sector[LastUsableLbaOffset..], LastUsableLba);
        DiskGuid.TryWriteBytes(sector.Slice(DiskGuidOffset, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(sector[PartitionEntryLbaOffset..], PartitionEntryLba);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[NumberOfPartitionEntriesOffset..], NumberOfPartitionEntries);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[SizeOfPartitionEntryOffset..], SizeOfPartitionEntry);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[PartitionEntryArrayCrc32Offset..], PartitionEntryArrayCrc32);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[HeaderCrc32Offset..], ComputeHeaderCrc(sector));
    }

    /// <summary>The CRC32 of the first HeaderSize bytes with the CRC field taken as zero (UEFI 2.10 §5.3.2).</summary>
    private uint ComputeHeaderCrc(ReadOnlySpan<byte> sector)
    {
        Span<byte> copy = stackalloc byte[(int)HeaderSize];
        sector[..copy.Length].CopyTo(copy);
        copy.Slice(HeaderCrc32Offset, sizeof(uint)).Clear();
        return Crc32.HashToUInt32(copy);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Throw(string field, object value, long offset, string problem) =>
        throw new DiskFormatException(Structure, field, value, offset, problem);
}
