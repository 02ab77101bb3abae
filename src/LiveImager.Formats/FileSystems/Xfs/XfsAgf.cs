using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>The AG free-space header (AGF): the second sector of every allocation group, big-endian.</summary>
/// <remarks>Offsets from libxfs xfs_format.h (struct xfs_agf) and the XFS Algorithms &amp; Data Structures book,
/// "AG Free Space Management".</remarks>
public readonly struct XfsAgf
{
    /// <summary>"XAGF" in agf_magicnum.</summary>
    public const uint Magic = 0x58414746;

    /// <summary>The only agf_versionnum (XFS_AGF_VERSION).</summary>
    public const uint Version = 1;

    /// <summary>Sector of the AGF within its group (XFS_AGF_DADDR counts sectors of sb_sectsize).</summary>
    public const int SectorInGroup = 1;

    /// <summary>Bytes parsed: the v5 AGF ends at 0xE0.</summary>
    public const int Size = 0xE0;

    public const int MagicOffset = 0x00;            // agf_magicnum
    public const int VersionOffset = 0x04;          // agf_versionnum
    public const int SequenceOffset = 0x08;         // agf_seqno: the AG number
    public const int LengthOffset = 0x0C;           // agf_length: blocks in this AG
    public const int ByBlockRootOffset = 0x10;      // agf_roots[XFS_BTNUM_BNO]: root of the free-space tree by block
    public const int ByCountRootOffset = 0x14;      // agf_roots[XFS_BTNUM_CNT]: root of the free-space tree by size
    public const int ByBlockLevelOffset = 0x1C;     // agf_levels[XFS_BTNUM_BNO]: its height, 1 = the root is a leaf
    public const int ByCountLevelOffset = 0x20;     // agf_levels[XFS_BTNUM_CNT]
    public const int FreeListCountOffset = 0x30;    // agf_flcount: blocks on the AGFL
    public const int FreeBlocksOffset = 0x34;       // agf_freeblks: blocks in the free-space trees' records
    public const int BtreeBlocksOffset = 0x3C;      // agf_btreeblks: free-space tree blocks beyond the roots (lazy-count)
    public const int UuidOffset = 0x40;             // agf_uuid[16] (v5)
    public const int ChecksumOffset = 0xD8;         // agf_crc (v5), little-endian

    /// <summary>The tallest a free-space B+tree may be: XFS_BTREE_MAXLEVELS in kernels before 5.18 (9); a 1 TiB group
    /// of 512-byte blocks needs fewer than that even at the minimum fan-out of 2.</summary>
    public const int MaxLevels = 9;

    public uint MagicValue { get; init; }
    public uint VersionValue { get; init; }
    public uint Sequence { get; init; }
    public uint Length { get; init; }
    public uint ByBlockRoot { get; init; }
    public uint ByBlockLevel { get; init; }
    public uint ByCountRoot { get; init; }
    public uint ByCountLevel { get; init; }
    public uint FreeListCount { get; init; }
    public uint FreeBlocks { get; init; }
    public uint BtreeBlocks { get; init; }
    public byte[] Uuid { get; init; }
    public bool ChecksumMatches { get; init; }

    /// <summary>Parses the AGF sector (<paramref name="sector"/> is the whole sb_sectsize sector: the crc covers it).</summary>
    public static XfsAgf Parse(ReadOnlySpan<byte> sector, bool hasCrc) => new()
    {
        MagicValue = BinaryPrimitives.ReadUInt32BigEndian(sector[MagicOffset..]),
        VersionValue = BinaryPrimitives.ReadUInt32BigEndian(sector[VersionOffset..]),
        Sequence = BinaryPrimitives.ReadUInt32BigEndian(sector[SequenceOffset..]),
        Length = BinaryPrimitives.ReadUInt32BigEndian(sector[LengthOffset..]),
        ByBlockRoot = BinaryPrimitives.ReadUInt32BigEndian(sector[ByBlockRootOffset..]),
        ByBlockLevel = BinaryPrimitives.ReadUInt32BigEndian(sector[ByBlockLevelOffset..]),
        ByCountRoot = BinaryPrimitives.ReadUInt32BigEndian(sector[ByCountRootOffset..]),
        ByCountLevel = BinaryPrimitives.ReadUInt32BigEndian(sector[ByCountLevelOffset..]),
        FreeListCount = BinaryPrimitives.ReadUInt32BigEndian(sector[FreeListCountOffset..]),
        FreeBlocks = BinaryPrimitives.ReadUInt32BigEndian(sector[FreeBlocksOffset..]),
        BtreeBlocks = BinaryPrimitives.ReadUInt32BigEndian(sector[BtreeBlocksOffset..]),
        Uuid = sector.Slice(UuidOffset, 16).ToArray(),
        ChecksumMatches = !hasCrc || XfsChecksum.Verify(sector, ChecksumOffset),
    };

    /// <summary>Checks the AGF of group <paramref name="agNumber"/> read at byte <paramref name="offset"/>.</summary>
    public void Validate(in XfsSuperblock superblock, uint agNumber, long offset)
    {
        if (MagicValue != Magic)
        {
            Fail(agNumber, "agf_magicnum", $"0x{MagicValue:X8}", offset + MagicOffset, $"is not 0x{Magic:X8} (\"XAGF\")");
        }
        if (!ChecksumMatches)
        {
            Fail(agNumber, "agf_crc", "mismatch", offset + ChecksumOffset, "does not match the sector's crc32c");
        }
        if (VersionValue != Version)
        {
            Fail(agNumber, "agf_versionnum", VersionValue, offset + VersionOffset, $"is not {Version}");
        }
        if (Sequence != agNumber)
        {
            Fail(agNumber, "agf_seqno", Sequence, offset + SequenceOffset, $"is not the group's number {agNumber}");
        }
        if (superblock.HasCrc && !Uuid.AsSpan().SequenceEqual(superblock.MetadataUuid))
        {
            Fail(agNumber, "agf_uuid", new Guid(Uuid, bigEndian: true), offset + UuidOffset,
                "is not the filesystem's metadata UUID");
        }
        uint length = superblock.AgLength(agNumber);
        if (Length != length)
        {
            Fail(agNumber, "agf_length", Length, offset + LengthOffset, $"is not the group's {length} blocks");
        }
        CheckTree(agNumber, "bno", ByBlockRoot, ByBlockLevel, offset + ByBlockRootOffset, offset + ByBlockLevelOffset);
        CheckTree(agNumber, "cnt", ByCountRoot, ByCountLevel, offset + ByCountRootOffset, offset + ByCountLevelOffset);
        if (FreeBlocks > Length)
        {
            Fail(agNumber, "agf_freeblks", FreeBlocks, offset + FreeBlocksOffset, $"exceeds the group's {Length} blocks");
        }
        if (FreeListCount > XfsAgfl.Capacity(superblock))
        {
            Fail(agNumber, "agf_flcount", FreeListCount, offset + FreeListCountOffset,
                $"exceeds the AGFL's {XfsAgfl.Capacity(superblock)} slots");
        }
        if (BtreeBlocks > Length)
        {
            Fail(agNumber, "agf_btreeblks", BtreeBlocks, offset + BtreeBlocksOffset, $"exceeds the group's {Length} blocks");
        }
    }

    private void CheckTree(uint agNumber, string tree, uint root, uint level, long rootOffset, long levelOffset)
    {
        if (level < 1 || level > MaxLevels)
        {
            Fail(agNumber, $"agf_levels[{tree}]", level, levelOffset, $"must be 1..{MaxLevels}");
        }
        if (root == 0 || root >= Length)
        {
            Fail(agNumber, $"agf_roots[{tree}]", root, rootOffset, $"lies outside the group's 1..{Length - 1}");
        }
    }

    [DoesNotReturn]
    private static void Fail(uint agNumber, string field, object value, long offset, string problem) =>
        throw new DiskFormatException($"xfs AGF {agNumber}", field, value, offset, problem);
}
