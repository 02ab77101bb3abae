using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>One MFT record ("FILE" record): header, update sequence (fixups) and the attributes after it.</summary>
/// <remarks>Offsets from ntfs-3g's <c>MFT_RECORD</c> (include/ntfs-3g/layout.h).</remarks>
public sealed class NtfsFileRecord
{
    private const int MagicOffset = 0x00;          // magic "FILE"
    private const int AttributesOffsetOffset = 0x14; // attrs_offset (le16)
    private const int FlagsOffset = 0x16;          // flags (le16)
    private const int BytesInUseOffset = 0x18;     // bytes_in_use (le32)
    private const int BytesAllocatedOffset = 0x1C; // bytes_allocated (le32)
    private const int RecordNumberOffset = 0x2C;   // mft_record_number (le32), NTFS 3.1 only

    /// <summary>End of the NTFS 1.x header (after next_attr_instance): the update sequence array cannot start earlier.</summary>
    private const int MinUsaOffset = 0x2A;

    /// <summary>usa_ofs of NTFS 3.1 records, which carry mft_record_number before the update sequence.</summary>
    private const int UsaOffsetWithRecordNumber = 0x30;

    private const ushort InUseFlag = 0x0001; // MFT_RECORD_IN_USE

    /// <summary>End of the attribute list (AT_END).</summary>
    private const uint EndMarker = 0xFFFFFFFF;

    private static ReadOnlySpan<byte> Magic => "FILE"u8;

    private readonly byte[] _bytes;
    private readonly int _attributesOffset;
    private readonly int _bytesInUse;

    private NtfsFileRecord(byte[] bytes, long number, long diskOffset, int attributesOffset, int bytesInUse)
    {
        _bytes = bytes;
        Number = number;
        DiskOffset = diskOffset;
        _attributesOffset = attributesOffset;
        _bytesInUse = bytesInUse;
    }

    /// <summary>The record's number in the MFT.</summary>
    public long Number { get; }

    /// <summary>Where the record starts, in bytes from the start of the partition, for error messages.</summary>
    public long DiskOffset { get; }

    /// <summary>Checks the header of the raw record <paramref name="bytes"/> (MFT record <paramref name="number"/>, read
    /// from <paramref name="diskOffset"/>), applies its update sequence in place, and returns it.</summary>
    public static NtfsFileRecord Read(byte[] bytes, long number, long diskOffset)
    {
        string structure = $"NTFS MFT record {number}";
        if (!bytes.AsSpan(MagicOffset, Magic.Length).SequenceEqual(Magic))
        {
            throw new DiskFormatException(structure, "magic",
                Convert.ToHexString(bytes, MagicOffset, Magic.Length), diskOffset + MagicOffset, "expected \"FILE\" (46494C45)");
        }
        NtfsUpdateSequence.Apply(bytes, structure, diskOffset, MinUsaOffset);

        int attributesOffset = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(AttributesOffsetOffset));
        uint bytesInUse = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(BytesInUseOffset));
        uint bytesAllocated = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(BytesAllocatedOffset));
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(FlagsOffset));
        if (bytesAllocated != bytes.Length)
        {
            throw new DiskFormatException(structure, "bytes_allocated", bytesAllocated, diskOffset + BytesAllocatedOffset,
                $"the boot sector gives {bytes.Length}-byte records");
        }
        if (bytesInUse > bytes.Length)
        {
            throw new DiskFormatException(structure, "bytes_in_use", bytesInUse, diskOffset + BytesInUseOffset,
                $"exceeds the {bytes.Length}-byte record");
        }
        int usaEnd = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(NtfsUpdateSequence.UsaOffsetOffset))
            + 2 * BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(NtfsUpdateSequence.UsaCountOffset));
        if (attributesOffset < usaEnd || attributesOffset % 8 != 0 || attributesOffset >= bytesInUse)
        {
            throw new DiskFormatException(structure, "attrs_offset", attributesOffset, diskOffset + AttributesOffsetOffset,
                $"must be 8-aligned, after the update sequence (byte {usaEnd}) and before bytes_in_use ({bytesInUse})");
        }
        if ((flags & InUseFlag) == 0)
        {
            throw new DiskFormatException(structure, "flags", $"0x{flags:X4}", diskOffset + FlagsOffset,
                "the record of a system file is not in use");
        }
        if (BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(NtfsUpdateSequence.UsaOffsetOffset)) >= UsaOffsetWithRecordNumber)
        {
            uint recorded = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(RecordNumberOffset));
            if (recorded != number)
            {
                throw new DiskFormatException(structure, "mft_record_number", recorded, diskOffset + RecordNumberOffset,
                    $"the record was read as number {number}");
            }
        }
        return new NtfsFileRecord(bytes, number, diskOffset, attributesOffset, (int)bytesInUse);
    }

    /// <summary>The first unnamed attribute of <paramref name="type"/>, or null; throws when the list is malformed.</summary>
    public NtfsAttribute? Find(uint type)
    {
        int offset = _attributesOffset;
        // Each attribute is at least a header long, so the walk ends within bytes_in_use / header steps.
        while (true)
        {
            if (offset > _bytesInUse - sizeof(uint))
            {
                throw new DiskFormatException($"NTFS MFT record {Number}", "attribute list", offset, DiskOffset + offset,
                    $"runs past bytes_in_use ({_bytesInUse}) without the end marker");
            }
            uint found = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset));
            if (found == EndMarker)
            {
                return null;
            }
            var attribute = NtfsAttribute.Parse(_bytes.AsSpan(offset, _bytesInUse - offset), this, offset);
            if (attribute.Type == type && attribute.NameLength == 0)
            {
                return attribute;
            }
            offset += attribute.Length;
        }
    }

    /// <summary>The record's bytes from <paramref name="offset"/>, <paramref name="length"/> long.</summary>
    internal ReadOnlySpan<byte> Bytes(int offset, int length) => _bytes.AsSpan(offset, length);
}
