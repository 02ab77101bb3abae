using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>One attribute of an MFT record: the common header, then the resident value or the non-resident run list.</summary>
/// <remarks>Offsets from ntfs-3g's <c>ATTR_RECORD</c> (include/ntfs-3g/layout.h).</remarks>
public readonly struct NtfsAttribute
{
    /// <summary>$ATTRIBUTE_LIST: the record's attributes continue in other records.</summary>
    public const uint AttributeList = 0x20;

    /// <summary>$VOLUME_NAME.</summary>
    public const uint VolumeName = 0x60;

    /// <summary>$VOLUME_INFORMATION.</summary>
    public const uint VolumeInformation = 0x70;

    /// <summary>$DATA.</summary>
    public const uint Data = 0x80;

    private const int TypeOffset = 0x00;          // type (le32)
    private const int LengthOffset = 0x04;        // length (le32)
    private const int NonResidentOffset = 0x08;   // non_resident (u8)
    private const int NameLengthOffset = 0x09;    // name_length (u8)
    private const int FlagsOffset = 0x0C;         // flags (le16)
    private const int ValueLengthOffset = 0x10;   // resident: value_length (le32)
    private const int ValueOffsetOffset = 0x14;   // resident: value_offset (le16)
    private const int ResidentHeaderSize = 0x18;
    internal const int LowestVcnOffset = 0x10;     // non-resident: lowest_vcn (sle64)
    internal const int HighestVcnOffset = 0x18;    // non-resident: highest_vcn (sle64)
    private const int MappingPairsOffsetOffset = 0x20; // non-resident: mapping_pairs_offset (le16)
    internal const int AllocatedSizeOffset = 0x28; // non-resident: allocated_size (sle64)
    internal const int DataSizeOffset = 0x30;      // non-resident: data_size (sle64)
    internal const int InitializedSizeOffset = 0x38; // non-resident: initialized_size (sle64)
    private const int NonResidentHeaderSize = 0x40;

    /// <summary>ATTR_IS_COMPRESSED | ATTR_IS_ENCRYPTED | ATTR_IS_SPARSE: data not stored as plain runs of clusters.</summary>
    private const ushort NotPlainFlags = 0x0001 | 0x4000 | 0x8000;

    private readonly NtfsFileRecord _record;
    private readonly int _offset;

    private NtfsAttribute(NtfsFileRecord record, int offset, ReadOnlySpan<byte> bytes)
    {
        _record = record;
        _offset = offset;
        Type = BinaryPrimitives.ReadUInt32LittleEndian(bytes[TypeOffset..]);
        Length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[LengthOffset..]);
        IsNonResident = bytes[NonResidentOffset] != 0;
        NameLength = bytes[NameLengthOffset];
        Flags = BinaryPrimitives.ReadUInt16LittleEndian(bytes[FlagsOffset..]);
    }

    public uint Type { get; }

    /// <summary>Bytes of the whole attribute, header included.</summary>
    public int Length { get; }

    public bool IsNonResident { get; }

    /// <summary>Characters in the attribute's name; 0 for the unnamed (default) stream.</summary>
    public byte NameLength { get; }

    public ushort Flags { get; }

    /// <summary>Where the attribute starts on disk, for error messages.</summary>
    public long DiskOffset => _record.DiskOffset + _offset;

    private string Structure => $"NTFS MFT record {_record.Number} attribute 0x{Type:X2}";

    /// <summary>Reads the header at <paramref name="offset"/> of <paramref name="record"/>; <paramref name="rest"/> is
    /// the record from there to bytes_in_use. Throws unless the attribute fits in it.</summary>
    internal static NtfsAttribute Parse(ReadOnlySpan<byte> rest, NtfsFileRecord record, int offset)
    {
        if (rest.Length < ResidentHeaderSize)
        {
            throw new DiskFormatException($"NTFS MFT record {record.Number}", "attribute", rest.Length,
                record.DiskOffset + offset, $"only {rest.Length} bytes remain before bytes_in_use; a header needs {ResidentHeaderSize}");
        }
        var attribute = new NtfsAttribute(record, offset, rest);
        int minimum = attribute.IsNonResident ? NonResidentHeaderSize : ResidentHeaderSize;
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(rest[LengthOffset..]);
        if (length < minimum || length % 8 != 0 || length > rest.Length)
        {
            throw new DiskFormatException(attribute.Structure, "length", length, attribute.DiskOffset + LengthOffset,
                $"must be 8-aligned, at least {minimum} and at most the {rest.Length} bytes left in the record");
        }
        return attribute;
    }

    /// <summary>The value of a resident attribute, at most <paramref name="maxLength"/> bytes long, and where it lies on disk.</summary>
    public ReadOnlySpan<byte> ResidentValue(int maxLength, out long diskOffset)
    {
        RequireResidency(nonResident: false);
        var header = _record.Bytes(_offset, Length);
        uint valueLength = BinaryPrimitives.ReadUInt32LittleEndian(header[ValueLengthOffset..]);
        int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(header[ValueOffsetOffset..]);
        if (valueOffset < ResidentHeaderSize || valueOffset > Length || valueLength > (uint)(Length - valueOffset) || valueLength > maxLength)
        {
            throw new DiskFormatException(Structure, "value_offset/value_length", $"{valueOffset}/{valueLength}",
                DiskOffset + ValueLengthOffset, $"the value must lie inside the {Length}-byte attribute and be at most {maxLength} bytes");
        }
        diskOffset = DiskOffset + valueOffset;
        return header.Slice(valueOffset, (int)valueLength);
    }

    /// <summary>The sizes and run list of a non-resident attribute stored as plain clusters.</summary>
    public NtfsNonResidentData NonResident()
    {
        RequireResidency(nonResident: true);
        if ((Flags & NotPlainFlags) != 0)
        {
            throw new DiskFormatException(Structure, "flags", $"0x{Flags:X4}", DiskOffset + FlagsOffset,
                "compressed, encrypted or sparse data is not expected in a system file");
        }
        var header = _record.Bytes(_offset, Length);
        int pairsOffset = BinaryPrimitives.ReadUInt16LittleEndian(header[MappingPairsOffsetOffset..]);
        if (pairsOffset < NonResidentHeaderSize || pairsOffset >= Length)
        {
            throw new DiskFormatException(Structure, "mapping_pairs_offset", pairsOffset, DiskOffset + MappingPairsOffsetOffset,
                $"must lie after the header and inside the {Length}-byte attribute");
        }
        return new NtfsNonResidentData(
            Structure,
            DiskOffset,
            BinaryPrimitives.ReadInt64LittleEndian(header[LowestVcnOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[HighestVcnOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[AllocatedSizeOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[DataSizeOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[InitializedSizeOffset..]),
            header[pairsOffset..].ToArray(),
            DiskOffset + pairsOffset);
    }

    private void RequireResidency(bool nonResident)
    {
        if (IsNonResident != nonResident)
        {
            throw new DiskFormatException(Structure, "non_resident", IsNonResident ? 1 : 0, DiskOffset + NonResidentOffset,
                nonResident ? "expected a non-resident attribute" : "expected a resident attribute");
        }
    }
}

/// <summary>The fields of a non-resident attribute header that locate its data.</summary>
/// <param name="Structure">The attribute's name in error messages.</param>
/// <param name="DiskOffset">Where the attribute starts on disk.</param>
/// <param name="MappingPairs">The encoded run list, up to the end of the attribute.</param>
/// <param name="MappingPairsDiskOffset">Where the run list starts on disk.</param>
public sealed record NtfsNonResidentData(
    string Structure,
    long DiskOffset,
    long LowestVcn,
    long HighestVcn,
    long AllocatedSize,
    long DataSize,
    long InitializedSize,
    byte[] MappingPairs,
    long MappingPairsDiskOffset);
