using System.Buffers.Binary;
using LiveImager.Formats.FileSystems.Ext;

namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>The crc32c every v5 metadata block carries (libxfs xfs_cksum.h).</summary>
public static class XfsChecksum
{
    /// <summary>The value xfs_update_cksum would store at <paramref name="checksumOffset"/> of <paramref name="block"/>:
    /// crc32c seeded with ~0 over the block with the 4-byte field taken as zero, inverted, stored little-endian.</summary>
    public static uint Compute(ReadOnlySpan<byte> block, int checksumOffset)
    {
        // Same polynomial and uninverted running value as ext4's metadata_csum, so the one implementation serves both.
        uint crc = ExtChecksums.Crc32C(uint.MaxValue, block[..checksumOffset]);
        crc = ExtChecksums.Crc32C(crc, [0, 0, 0, 0]);
        crc = ExtChecksums.Crc32C(crc, block[(checksumOffset + sizeof(uint))..]);
        return ~crc;
    }

    /// <summary>True when the little-endian crc stored at <paramref name="checksumOffset"/> matches the block.</summary>
    public static bool Verify(ReadOnlySpan<byte> block, int checksumOffset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(block[checksumOffset..]) == Compute(block, checksumOffset);
}
