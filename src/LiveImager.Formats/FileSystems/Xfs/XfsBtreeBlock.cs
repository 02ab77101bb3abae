using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>A block of a free-space B+tree, by block number (bnobt) or by size (cntbt): a short-form B+tree block
/// header, then records (leaf) or keys and pointers (node), big-endian. Both trees hold the same records.</summary>
/// <remarks>Offsets from libxfs xfs_format.h (struct xfs_btree_block, short form; struct xfs_alloc_rec) and the XFS
/// Algorithms &amp; Data Structures book, "B+trees" and "AG Free Space B+trees". v5 extends the 16-byte v4 header to
/// 56 bytes with the block's own address, owner, UUID and crc32c.</remarks>
public readonly ref struct XfsBtreeBlock
{
    /// <summary>"ABTB": v4 free-space-by-block block.</summary>
    public const uint MagicV4 = 0x41425442;

    /// <summary>"AB3B": v5 free-space-by-block block.</summary>
    public const uint MagicV5 = 0x41423342;

    /// <summary>"ABTC": v4 free-space-by-size block.</summary>
    public const uint ByCountMagicV4 = 0x41425443;

    /// <summary>"AB3C": v5 free-space-by-size block.</summary>
    public const uint ByCountMagicV5 = 0x41423343;

    public const int MagicOffset = 0x00;        // bb_magic
    public const int LevelOffset = 0x04;        // bb_level: 0 = leaf
    public const int RecordCountOffset = 0x06;  // bb_numrecs
    public const int LeftSiblingOffset = 0x08;  // bb_u.s.bb_leftsib
    public const int RightSiblingOffset = 0x0C; // bb_u.s.bb_rightsib
    public const int BlockNumberOffset = 0x10;  // bb_u.s.bb_blkno (v5): this block's address in 512-byte units
    public const int UuidOffset = 0x20;         // bb_u.s.bb_uuid (v5)
    public const int OwnerOffset = 0x30;        // bb_u.s.bb_owner (v5): the AG number
    public const int ChecksumOffset = 0x34;     // bb_u.s.bb_crc (v5), little-endian

    public const int V4HeaderSize = 0x10;       // XFS_BTREE_SBLOCK_LEN
    public const int V5HeaderSize = 0x38;       // XFS_BTREE_SBLOCK_CRC_LEN

    /// <summary>A record (ar_startblock, ar_blockcount) and a node key are both two 32-bit values.</summary>
    public const int RecordSize = 8;

    /// <summary>A node pointer is a 32-bit AG block number.</summary>
    public const int PointerSize = 4;

    /// <summary>bb_leftsib/bb_rightsib of a block with no sibling (NULLAGBLOCK).</summary>
    public const uint NoSibling = 0xFFFFFFFF;

    private readonly ReadOnlySpan<byte> _block;
    private readonly int _headerSize;

    private XfsBtreeBlock(ReadOnlySpan<byte> block, int headerSize)
    {
        _block = block;
        _headerSize = headerSize;
    }

    public ushort Level => BinaryPrimitives.ReadUInt16BigEndian(_block[LevelOffset..]);
    public ushort RecordCount => BinaryPrimitives.ReadUInt16BigEndian(_block[RecordCountOffset..]);
    public uint LeftSibling => BinaryPrimitives.ReadUInt32BigEndian(_block[LeftSiblingOffset..]);
    public uint RightSibling => BinaryPrimitives.ReadUInt32BigEndian(_block[RightSiblingOffset..]);

    /// <summary>Records a leaf of this block size holds at most (the kernel's maxrecs).</summary>
    public int MaxLeafRecords => (_block.Length - _headerSize) / RecordSize;

    /// <summary>Key/pointer pairs a node of this block size holds at most.</summary>
    public int MaxNodeRecords => (_block.Length - _headerSize) / (RecordSize + PointerSize);

    /// <summary>Record <paramref name="index"/> of a leaf: a free extent of the group.</summary>
    public (uint StartBlock, uint BlockCount) Record(int index)
    {
        var record = _block.Slice(_headerSize + index * RecordSize, RecordSize);
        return (BinaryPrimitives.ReadUInt32BigEndian(record), BinaryPrimitives.ReadUInt32BigEndian(record[4..]));
    }

    /// <summary>Pointer <paramref name="index"/> of a node: the child's AG block. Pointers follow the room for
    /// <see cref="MaxNodeRecords"/> keys, not the keys in use.</summary>
    public uint Pointer(int index) => BinaryPrimitives.ReadUInt32BigEndian(
        _block[(_headerSize + MaxNodeRecords * RecordSize + index * PointerSize)..]);

    /// <summary>Parses and checks the block at AG block <paramref name="agBlock"/> of group <paramref name="agNumber"/>,
    /// read from byte <paramref name="offset"/> of the filesystem, expected at tree level <paramref name="level"/>.</summary>
    public static XfsBtreeBlock Parse(ReadOnlySpan<byte> block, in XfsSuperblock superblock, bool byCount, uint agNumber,
        uint agBlock, long offset, int level)
    {
        string structure = $"xfs {TreeName(byCount)} block {agNumber}/{agBlock}";
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(block[MagicOffset..]);
        uint expectedMagic = (superblock.HasCrc, byCount) switch
        {
            (false, false) => MagicV4,
            (true, false) => MagicV5,
            (false, true) => ByCountMagicV4,
            (true, true) => ByCountMagicV5,
        };
        if (magic != expectedMagic)
        {
            Fail(structure, "bb_magic", $"0x{magic:X8}", offset + MagicOffset, $"is not 0x{expectedMagic:X8}");
        }
        var parsed = new XfsBtreeBlock(block, superblock.HasCrc ? V5HeaderSize : V4HeaderSize);
        if (superblock.HasCrc)
        {
            if (!XfsChecksum.Verify(block, ChecksumOffset))
            {
                Fail(structure, "bb_crc", "mismatch", offset + ChecksumOffset, "does not match the block's crc32c");
            }
            ulong blockNumber = BinaryPrimitives.ReadUInt64BigEndian(block[BlockNumberOffset..]);
            if (blockNumber != (ulong)(offset / 512))
            {
                Fail(structure, "bb_blkno", blockNumber, offset + BlockNumberOffset,
                    $"is not the block's own address {offset / 512}");
            }
            uint owner = BinaryPrimitives.ReadUInt32BigEndian(block[OwnerOffset..]);
            if (owner != agNumber)
            {
                Fail(structure, "bb_owner", owner, offset + OwnerOffset, $"is not the group's number {agNumber}");
            }
            if (!block.Slice(UuidOffset, 16).SequenceEqual(superblock.MetadataUuid))
            {
                Fail(structure, "bb_uuid", new Guid(block.Slice(UuidOffset, 16), bigEndian: true), offset + UuidOffset,
                    "is not the filesystem's metadata UUID");
            }
        }
        if (parsed.Level != level)
        {
            Fail(structure, "bb_level", parsed.Level, offset + LevelOffset, $"is not the expected level {level}");
        }
        int max = level == 0 ? parsed.MaxLeafRecords : parsed.MaxNodeRecords;
        // A node always has a child; a leaf may be empty only as the root of a group with no free space.
        if (parsed.RecordCount > max || (level > 0 && parsed.RecordCount == 0))
        {
            Fail(structure, "bb_numrecs", parsed.RecordCount, offset + RecordCountOffset,
                $"must be {(level > 0 ? 1 : 0)}..{max} at level {level}");
        }
        return parsed;
    }

    /// <summary>"bnobt" or "cntbt", as xfs_db names the trees.</summary>
    public static string TreeName(bool byCount) => byCount ? "cntbt" : "bnobt";

    [DoesNotReturn]
    private static void Fail(string structure, string field, object value, long offset, string problem) =>
        throw new DiskFormatException(structure, field, value, offset, problem);
}
