using System.Buffers.Binary;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The 64 bytes at the start of volume 2, 3, … of a split image: which image, which volume, which bytes.</summary>
public readonly record struct VolumeHeader(int VolumeNumber, Guid ImageId, long LogicalOffset)
{
    public const int Length = 0x40;
    public const ushort CurrentVersion = 1;

    /// <summary>Smallest volume: small enough for tests, large enough that headers stay a small share.</summary>
    public const long MinVolumeSize = 64 * 1024;

    /// <summary>ASCII "LIMVOL\0\0".</summary>
    public static ReadOnlySpan<byte> Magic => "LIMVOL\0\0"u8;

    private const int MagicOffset = 0x00;          // image-format.md VolumeHeader 0x00 magic
    private const int VersionOffset = 0x08;        // 0x08 version
    private const int HeaderLengthOffset = 0x0A;   // 0x0A header length
    private const int VolumeNumberOffset = 0x0C;   // 0x0C volume number
    private const int ImageIdOffset = 0x10;        // 0x10 image id
    private const int LogicalOffsetOffset = 0x20;  // 0x20 logical offset
    private const int ChecksumOffset = 0x38;       // 0x38 header checksum

    /// <summary>Reads and validates the header of <paramref name="volumeName"/>.</summary>
    public static VolumeHeader Parse(ReadOnlySpan<byte> bytes, string volumeName)
    {
        string structure = $"volume header of {volumeName}";
        if (bytes.Length < Length)
        {
            throw new DiskFormatException(structure, $"the volume is {bytes.Length} bytes, shorter than its {Length}-byte header");
        }
        if (!bytes[..8].SequenceEqual(Magic))
        {
            throw new DiskFormatException(structure, "magic", Convert.ToHexString(bytes[..8]), MagicOffset,
                "not a LiveImager volume (expected \"LIMVOL\")");
        }
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[ChecksumOffset..]);
        ulong computed = ImageChecksum.Of(bytes[..ChecksumOffset]);
        if (stored != computed)
        {
            throw new DiskFormatException(structure, "header checksum", $"0x{stored:x16}", ChecksumOffset,
                $"does not match the header (computed 0x{computed:x16}): the volume header is damaged");
        }
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[VersionOffset..]);
        if (version == 0 || version > CurrentVersion)
        {
            throw new DiskFormatException(structure, "version", version, VersionOffset, $"this LiveImager reads volume versions 1..{CurrentVersion}");
        }
        ushort headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[HeaderLengthOffset..]);
        if (headerLength != Length)
        {
            throw new DiskFormatException(structure, "header length", headerLength, HeaderLengthOffset, $"must be {Length}");
        }
        return new VolumeHeader(
            BinaryPrimitives.ReadInt32LittleEndian(bytes[VolumeNumberOffset..]),
            new Guid(bytes.Slice(ImageIdOffset, 16)),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[LogicalOffsetOffset..]));
    }

    public void Write(Span<byte> destination)
    {
        Span<byte> bytes = destination[..Length];
        bytes.Clear();
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[VersionOffset..], CurrentVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[HeaderLengthOffset..], Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[VolumeNumberOffset..], VolumeNumber);
        ImageId.TryWriteBytes(bytes.Slice(ImageIdOffset, 16));
        BinaryPrimitives.WriteInt64LittleEndian(bytes[LogicalOffsetOffset..], LogicalOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[ChecksumOffset..], ImageChecksum.Of(bytes[..ChecksumOffset]));
    }
}
