using System.Buffers.Binary;
using System.Numerics;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The 64 bytes at the start of an image: magic, version, image id, chunk and volume sizes.</summary>
public readonly record struct ImageHeader(ImageHeaderFlags Flags, Guid ImageId, int ChunkSize, long VolumeSize,
    long CreatedUnixMilliseconds, ushort Version = ImageHeader.CurrentVersion)
{
    public const int Length = 0x40;

    /// <summary>What every capture writes: the newest version, whatever the image needs of it.</summary>
    public const ushort CurrentVersion = 5;

    /// <summary>The first version with the chunk-hash frame (type 7) in every image, and incremental images (flag
    /// bit 2, reference frames).</summary>
    public const ushort ChunkHashesVersion = 5;

    /// <summary>The first version with encrypted images (flag bit 1, a key header, sealed frames).</summary>
    public const ushort EncryptedVersion = 4;

    /// <summary>The first version with a capture record frame (type 6: the bad-range map of a rescue capture).</summary>
    public const ushort CaptureRecordVersion = 3;
    public const int MinChunkSize = 64 * 1024;
    public const int MaxChunkSize = 64 * 1024 * 1024;
    public const int DefaultChunkSize = 4 * 1024 * 1024;

    /// <summary>ASCII "LIVEIMG\0".</summary>
    public static ReadOnlySpan<byte> Magic => "LIVEIMG\0"u8;

    private const int MagicOffset = 0x00;          // image-format.md ImageHeader 0x00 magic
    private const int VersionOffset = 0x08;        // 0x08 version
    private const int HeaderLengthOffset = 0x0A;   // 0x0A header length
    private const int FlagsOffset = 0x0C;          // 0x0C flags
    private const int ImageIdOffset = 0x10;        // 0x10 image id
    private const int ChunkSizeOffset = 0x20;      // 0x20 chunk size
    private const int VolumeSizeOffset = 0x28;     // 0x28 volume size
    private const int CreatedOffset = 0x30;        // 0x30 creation time
    private const int ChecksumOffset = 0x38;       // 0x38 header checksum

    private const string Structure = "image header";

    public bool IsSplit => (Flags & ImageHeaderFlags.Split) != 0;

    public bool IsEncrypted => (Flags & ImageHeaderFlags.Encrypted) != 0;

    /// <summary>Version 5: some data frames are references to the base image the metadata names.</summary>
    public bool IsIncremental => (Flags & ImageHeaderFlags.Incremental) != 0;

    /// <summary>Version 5 and later hold a chunk-hash frame.</summary>
    public bool HasChunkHashes => Version >= ChunkHashesVersion;

    /// <summary>Where the metadata frame starts: after the key header of an encrypted image.</summary>
    public long FirstFrameOffset => IsEncrypted ? Length + ImageKeyHeader.Length : Length;

    /// <summary>Reads and validates a header; throws <see cref="DiskFormatException"/> naming the bad field.</summary>
    public static ImageHeader Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Length)
        {
            throw new DiskFormatException(Structure, $"the image is {bytes.Length} bytes, shorter than its {Length}-byte header");
        }
        if (!bytes[..8].SequenceEqual(Magic))
        {
            throw new DiskFormatException(Structure, "magic", Convert.ToHexString(bytes[..8]), MagicOffset,
                "not a LiveImager image (expected \"LIVEIMG\")");
        }
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[ChecksumOffset..]);
        ulong computed = ImageChecksum.Of(bytes[..ChecksumOffset]);
        if (stored != computed)
        {
            throw new DiskFormatException(Structure, "header checksum", $"0x{stored:x16}", ChecksumOffset,
                $"does not match the header (computed 0x{computed:x16}): the header is damaged");
        }
        var header = new ImageHeader(
            (ImageHeaderFlags)BinaryPrimitives.ReadUInt32LittleEndian(bytes[FlagsOffset..]),
            new Guid(bytes.Slice(ImageIdOffset, 16)),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[ChunkSizeOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[VolumeSizeOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[CreatedOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(bytes[VersionOffset..]));
        header.Validate(BinaryPrimitives.ReadUInt16LittleEndian(bytes[HeaderLengthOffset..]));
        return header;
    }

    private void Validate(ushort headerLength)
    {
        if (Version == 0 || Version > CurrentVersion)
        {
            throw new DiskFormatException(Structure, "version", Version, VersionOffset,
                $"this LiveImager reads image versions 1..{CurrentVersion}; a newer LiveImager wrote this image");
        }
        if (headerLength != Length)
        {
            throw new DiskFormatException(Structure, "header length", headerLength, HeaderLengthOffset, $"must be {Length}");
        }
        ImageHeaderFlags known = Version >= ChunkHashesVersion ? ImageHeaderFlags.Split | ImageHeaderFlags.Encrypted | ImageHeaderFlags.Incremental
            : Version >= EncryptedVersion ? ImageHeaderFlags.Split | ImageHeaderFlags.Encrypted : ImageHeaderFlags.Split;
        if ((Flags & ~known) != 0)
        {
            throw new DiskFormatException(Structure, "flags", $"0x{(uint)Flags:x}", FlagsOffset, $"has bits unknown to version {Version}");
        }
        if (ChunkSize < MinChunkSize || ChunkSize > MaxChunkSize || !BitOperations.IsPow2(ChunkSize))
        {
            throw new DiskFormatException(Structure, "chunk size", ChunkSize, ChunkSizeOffset,
                $"must be a power of two from {MinChunkSize} to {MaxChunkSize}");
        }
        if (IsSplit ? VolumeSize < VolumeHeader.MinVolumeSize : VolumeSize != 0)
        {
            throw new DiskFormatException(Structure, "volume size", VolumeSize, VolumeSizeOffset,
                IsSplit ? $"a split image needs volumes of at least {VolumeHeader.MinVolumeSize} bytes" : "must be 0 when the image is not split");
        }
    }

    /// <summary>Writes the header, checksum included, into the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        Span<byte> bytes = destination[..Length];
        bytes.Clear();
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[VersionOffset..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[HeaderLengthOffset..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[FlagsOffset..], (uint)Flags);
        ImageId.TryWriteBytes(bytes.Slice(ImageIdOffset, 16));
        BinaryPrimitives.WriteInt32LittleEndian(bytes[ChunkSizeOffset..], ChunkSize);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[VolumeSizeOffset..], VolumeSize);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[CreatedOffset..], CreatedUnixMilliseconds);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[ChecksumOffset..], ImageChecksum.Of(bytes[..ChecksumOffset]));
    }
}

/// <summary>Bits of <see cref="ImageHeader.Flags"/>.</summary>
[Flags]
public enum ImageHeaderFlags : uint
{
    None = 0,
    /// <summary>The image is cut into volume files.</summary>
    Split = 1,

    /// <summary>Version 4: a key header follows the header and every frame is sealed.</summary>
    Encrypted = 2,

    /// <summary>Version 5: captured on a base image; data frames may be references to it.</summary>
    Incremental = 4,
}
