using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.Clonezilla;

/// <summary>The checksum a partclone image stores after each group of blocks (<c>checksum_mode_enum</c>, partclone
/// src/checksum.h; partclone's own IMAGE_FORMATS.md gives other numbers, the source is what writes images).</summary>
public enum PartcloneChecksumMode : ushort
{
    None = 0x00,
    Crc32 = 0x20,
    Xxh64 = 0x30,
    Xxh128 = 0x31,
}

/// <summary>The 110-byte header of a partclone image, format 0002 (<c>image_desc_v2</c> in partclone src/partclone.h:
/// <c>image_head_v2</c>, <c>file_system_info_v2</c>, <c>image_options_v2</c>, then a CRC32), packed, little-endian.</summary>
/// <remarks>Format 0001 (partclone before 0.3.0, a 4160-byte header and a byte per block) is recognised and refused by
/// name: Clonezilla has written 0002 since 2017.</remarks>
public sealed record PartcloneHeader(string PartcloneVersion, string FileSystem, long DeviceSize, long TotalBlocks,
    long SuperblockUsedBlocks, long UsedBlocks, int BlockSize, PartcloneChecksumMode ChecksumMode, int ChecksumSize,
    int BlocksPerChecksum, bool ReseedChecksum)
{
    public const int Length = 0x6E;

    /// <summary>The most blocks a bitmap may have: 2^35 bits is a 4 GiB bitmap, far past any disk's; the bitmap's own
    /// size is bounded again by the reader.</summary>
    public const long MaxTotalBlocks = 1L << 35;

    /// <summary>Largest block size accepted: partclone uses the filesystem's block or cluster (at most 2 MiB for NTFS).</summary>
    public const int MaxBlockSize = 64 << 20;

    /// <summary>Most blocks one checksum may cover; partclone's default is its buffer capacity (256 blocks at 4 KiB).</summary>
    public const int MaxBlocksPerChecksum = 1 << 24;

    private const int MagicOffset = 0x00;              // image_head_v2 char magic[16]
    private const int PtcVersionOffset = 0x10;         // char ptc_version[14]
    private const int VersionOffset = 0x1E;            // char version[4] "0002"
    private const int EndiannessOffset = 0x22;         // unsigned short endianess (ENDIAN_MAGIC)
    private const int FsOffset = 0x24;                 // file_system_info_v2 char fs[16]
    private const int DeviceSizeOffset = 0x34;         // unsigned long long device_size
    private const int TotalBlockOffset = 0x3C;         // unsigned long long totalblock
    private const int SuperBlockUsedOffset = 0x44;     // unsigned long long superBlockUsedBlocks
    private const int UsedBlocksOffset = 0x4C;         // unsigned long long usedblocks
    private const int BlockSizeOffset = 0x54;          // unsigned int block_size
    private const int FeatureSizeOffset = 0x58;        // image_options_v2 uint32_t feature_size
    private const int ImageVersionOffset = 0x5C;       // uint16_t image_version
    private const int ChecksumModeOffset = 0x60;       // uint16_t checksum_mode (0x5E is cpu_bits)
    private const int ChecksumSizeOffset = 0x62;       // uint16_t checksum_size
    private const int BlocksPerChecksumOffset = 0x64;  // uint32_t blocks_per_checksum
    private const int ReseedOffset = 0x68;             // uint8_t reseed_checksum
    private const int BitmapModeOffset = 0x69;         // uint8_t bitmap_mode
    private const int CrcOffset = 0x6A;                // image_desc_v2 uint32_t crc

    /// <summary>sizeof(image_options_v2) as partclone records it in feature_size.</summary>
    private const uint OptionsSize = 18;
    private const ushort EndianMagic = 0xC0DE;
    private const byte BitmapBits = 0x01;              // BM_BIT

    /// <summary>"partclone-image" and its NUL.</summary>
    public static ReadOnlySpan<byte> Magic => "partclone-image\0"u8;

    /// <summary>Bytes of the bitmap that follows: one bit per block, least significant bit first.</summary>
    public long BitmapBytes => (TotalBlocks + 7) / 8;

    /// <summary>Reads and checks the header; <paramref name="source"/> names the partition and image file in messages.</summary>
    public static PartcloneHeader Parse(ReadOnlySpan<byte> bytes, string source)
    {
        string structure = $"partclone header of {source}";
        if (bytes.Length < Length || !bytes[..15].SequenceEqual(Magic[..15]))
        {
            throw new DiskFormatException(structure, "magic", Printable(bytes[..Math.Min(15, bytes.Length)]), MagicOffset,
                "expected \"partclone-image\": not a partclone image, or its compression was not undone");
        }
        string version = Printable(bytes.Slice(VersionOffset, 4));
        // Format 0001 has its version at the same offset: magic[15] and fs[15] before it.
        if (version == "0001")
        {
            throw new DiskFormatException(structure, "version", "0001", VersionOffset,
                "partclone image format 0001 (partclone before 0.3.0) is not supported; restore it with partclone, or convert it with partclone.imgfuse");
        }
        if (version != "0002")
        {
            throw new DiskFormatException(structure, "version", version, VersionOffset, "this LiveImager reads partclone image format 0002");
        }
        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes[CrcOffset..]);
        uint crc = PartcloneChecksum.Crc32(bytes[..CrcOffset]);
        if (storedCrc != crc)
        {
            throw new DiskFormatException(structure, "crc", $"0x{storedCrc:x8}", CrcOffset,
                $"does not match the header (computed 0x{crc:x8}): the header is damaged");
        }
        ushort endianness = BinaryPrimitives.ReadUInt16LittleEndian(bytes[EndiannessOffset..]);
        if (endianness != EndianMagic)
        {
            throw new DiskFormatException(structure, "endianess", $"0x{endianness:x4}", EndiannessOffset,
                "the image was written on a big-endian machine, which this LiveImager does not read");
        }
        var header = new PartcloneHeader(
            Printable(bytes.Slice(PtcVersionOffset, 14)),
            Printable(bytes.Slice(FsOffset, 16)),
            (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(bytes[DeviceSizeOffset..]), long.MaxValue),
            (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(bytes[TotalBlockOffset..]), long.MaxValue),
            (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(bytes[SuperBlockUsedOffset..]), long.MaxValue),
            (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(bytes[UsedBlocksOffset..]), long.MaxValue),
            (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(bytes[BlockSizeOffset..]), int.MaxValue),
            (PartcloneChecksumMode)BinaryPrimitives.ReadUInt16LittleEndian(bytes[ChecksumModeOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(bytes[ChecksumSizeOffset..]),
            (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(bytes[BlocksPerChecksumOffset..]), int.MaxValue),
            bytes[ReseedOffset] != 0);
        header.Validate(structure, BinaryPrimitives.ReadUInt32LittleEndian(bytes[FeatureSizeOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(bytes[ImageVersionOffset..]), bytes[BitmapModeOffset]);
        return header;
    }

    private void Validate(string structure, uint featureSize, ushort imageVersion, byte bitmapMode)
    {
        if (featureSize != OptionsSize)
        {
            throw new DiskFormatException(structure, "feature_size", featureSize, FeatureSizeOffset, $"expected {OptionsSize}");
        }
        if (imageVersion != 2)
        {
            throw new DiskFormatException(structure, "image_version", imageVersion, ImageVersionOffset, "expected 2, as the text version says");
        }
        if (bitmapMode != BitmapBits)
        {
            throw new DiskFormatException(structure, "bitmap_mode", bitmapMode, BitmapModeOffset, "only the bit-per-block bitmap (BM_BIT) is read");
        }
        if (BlockSize < 512 || BlockSize > MaxBlockSize || BlockSize % 512 != 0)
        {
            throw new DiskFormatException(structure, "block_size", BlockSize, BlockSizeOffset,
                $"expected a multiple of 512 bytes up to {MaxBlockSize}");
        }
        if (TotalBlocks > MaxTotalBlocks || TotalBlocks > DeviceSize / BlockSize + 1)
        {
            throw new DiskFormatException(structure, "totalblock", TotalBlocks, TotalBlockOffset,
                $"more blocks of {BlockSize} bytes than the {DeviceSize}-byte device holds");
        }
        if (UsedBlocks > TotalBlocks)
        {
            throw new DiskFormatException(structure, "usedblocks", UsedBlocks, UsedBlocksOffset, $"more than the {TotalBlocks} blocks");
        }
        int expectedSize = PartcloneChecksum.SizeOf(ChecksumMode);
        if (expectedSize < 0)
        {
            throw new DiskFormatException(structure, "checksum_mode", $"0x{(int)ChecksumMode:x2}", ChecksumModeOffset,
                "unknown checksum; known are 0x00 none, 0x20 CRC32, 0x30 XXH64, 0x31 XXH128");
        }
        if (ChecksumSize != expectedSize)
        {
            throw new DiskFormatException(structure, "checksum_size", ChecksumSize, ChecksumSizeOffset,
                $"{PartcloneChecksum.NameOf(ChecksumMode)} checksums are {expectedSize} bytes");
        }
        if (ChecksumMode != PartcloneChecksumMode.None && (BlocksPerChecksum < 1 || BlocksPerChecksum > MaxBlocksPerChecksum))
        {
            throw new DiskFormatException(structure, "blocks_per_checksum", BlocksPerChecksum, BlocksPerChecksumOffset,
                $"expected 1..{MaxBlocksPerChecksum} with a checksum");
        }
    }

    /// <summary>A C string field as text: up to its first NUL, non-printable bytes escaped.</summary>
    private static string Printable(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        var text = new StringBuilder();
        foreach (byte b in end < 0 ? field : field[..end])
        {
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : $"\\x{b:x2}");
        }
        return text.ToString();
    }
}
