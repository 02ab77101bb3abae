using System.Buffers.Binary;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The 80 bytes that end a complete image: where the index and log are, and how much data there is.</summary>
public readonly record struct ImageFooter(int VolumeCount, Guid ImageId, long IndexOffset, long LogOffset,
    long DataFrameCount, long DataBytes, ulong IndexChecksum)
{
    public const int Length = 0x50;
    public const ushort CurrentVersion = 1;

    /// <summary>ASCII "LIMEND\0\0".</summary>
    public static ReadOnlySpan<byte> Magic => "LIMEND\0\0"u8;

    private const int MagicOffset = 0x00;           // image-format.md ImageFooter 0x00 magic
    private const int VersionOffset = 0x08;         // 0x08 version
    private const int FooterLengthOffset = 0x0A;    // 0x0A footer length
    private const int VolumeCountOffset = 0x0C;     // 0x0C volume count
    private const int ImageIdOffset = 0x10;         // 0x10 image id
    private const int IndexOffsetOffset = 0x20;     // 0x20 index offset
    private const int LogOffsetOffset = 0x28;       // 0x28 log offset
    private const int DataFrameCountOffset = 0x30;  // 0x30 data frame count
    private const int DataBytesOffset = 0x38;       // 0x38 data bytes
    private const int IndexChecksumOffset = 0x40;   // 0x40 index checksum
    private const int ChecksumOffset = 0x48;        // 0x48 footer checksum

    /// <summary>True when <paramref name="bytes"/> begins with the footer's magic (a frame never does).</summary>
    public static bool StartsWithMagic(ReadOnlySpan<byte> bytes) => bytes.Length >= 8 && bytes[..8].SequenceEqual(Magic);

    /// <summary>Reads and validates the footer found at <paramref name="imageOffset"/> of an image whose end is <paramref name="imageLength"/>.</summary>
    public static ImageFooter Parse(ReadOnlySpan<byte> bytes, long imageOffset, long imageLength)
    {
        const string structure = "image footer";
        if (!StartsWithMagic(bytes))
        {
            throw new DiskFormatException(structure, "magic", Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)]), imageOffset + MagicOffset,
                "no footer at the end of the image: the image is incomplete (capture interrupted or file truncated)");
        }
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[ChecksumOffset..]);
        ulong computed = ImageChecksum.Of(bytes[..ChecksumOffset]);
        if (stored != computed)
        {
            throw new DiskFormatException(structure, "footer checksum", $"0x{stored:x16}", imageOffset + ChecksumOffset,
                $"does not match the footer (computed 0x{computed:x16}): the footer is damaged");
        }
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[VersionOffset..]);
        if (version == 0 || version > CurrentVersion)
        {
            throw new DiskFormatException(structure, "version", version, imageOffset + VersionOffset, $"this LiveImager reads footer versions 1..{CurrentVersion}");
        }
        ushort footerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[FooterLengthOffset..]);
        if (footerLength != Length)
        {
            throw new DiskFormatException(structure, "footer length", footerLength, imageOffset + FooterLengthOffset, $"must be {Length}");
        }
        var footer = new ImageFooter(
            BinaryPrimitives.ReadInt32LittleEndian(bytes[VolumeCountOffset..]),
            new Guid(bytes.Slice(ImageIdOffset, 16)),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[IndexOffsetOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[LogOffsetOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[DataFrameCountOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[DataBytesOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[IndexChecksumOffset..]));
        if (footer.LogOffset < ImageHeader.Length || footer.IndexOffset <= footer.LogOffset || footer.IndexOffset + FrameHeader.Length > imageOffset)
        {
            throw new DiskFormatException(structure, "index offset", footer.IndexOffset, imageOffset + IndexOffsetOffset,
                $"the log ({footer.LogOffset}) and index must lie between the header and the footer at {imageOffset}");
        }
        if (footer.VolumeCount < 1 || footer.DataFrameCount < 0 || footer.DataFrameCount > FrameHeader.MaxIndexLength / ImageIndex.EntryLength)
        {
            throw new DiskFormatException(structure, "data frame count", footer.DataFrameCount, imageOffset + DataFrameCountOffset,
                $"must be 0..{FrameHeader.MaxIndexLength / ImageIndex.EntryLength} with at least one volume");
        }
        if (imageOffset + Length != imageLength)
        {
            throw new DiskFormatException(structure, "position", imageOffset, imageOffset, $"the footer must end the image at {imageLength}");
        }
        return footer;
    }

    public void Write(Span<byte> destination)
    {
        Span<byte> bytes = destination[..Length];
        bytes.Clear();
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[VersionOffset..], CurrentVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[FooterLengthOffset..], Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[VolumeCountOffset..], VolumeCount);
        ImageId.TryWriteBytes(bytes.Slice(ImageIdOffset, 16));
        BinaryPrimitives.WriteInt64LittleEndian(bytes[IndexOffsetOffset..], IndexOffset);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[LogOffsetOffset..], LogOffset);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[DataFrameCountOffset..], DataFrameCount);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[DataBytesOffset..], DataBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[IndexChecksumOffset..], IndexChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[ChecksumOffset..], ImageChecksum.Of(bytes[..ChecksumOffset]));
    }
}
