namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>Builds the used-block map of an XFS data section from every group's free-space B+tree by block number.</summary>
/// <remarks>The map starts all used; only the extents of the bnobt's leaf records are cleared. Everything else stays
/// used: the AG headers, the inode, free-inode, reverse-map and refcount B+trees, the AGFL's blocks (see
/// <see cref="XfsAgfl"/>), the internal log, and file data. Each group's records must sum to its agf_freeblks and
/// match the by-size tree's; the records must be ascending, disjoint, inside the group, clear of its header sectors
/// and of the log.</remarks>
public sealed class XfsFreeSpaceReader
{
    private readonly IBlockSource _partition;
    private readonly XfsSuperblock _superblock;
    private readonly long _logFirst;
    private readonly long _logEnd;
    private readonly long _maxMapBlocks;
    private readonly byte[] _block;
    private readonly byte[] _sector;

    /// <param name="partition">The filesystem.</param>
    /// <param name="superblock">Its validated superblock.</param>
    /// <param name="logFirst">The internal log's first block, filesystem-wide.</param>
    /// <param name="logBlocks">The internal log's length in blocks.</param>
    /// <param name="maxMapBlocks">The most blocks the map may have (<see cref="UsedBlockMap.MaxBlocks"/>); tests lower
    /// it to exercise coarse maps of huge filesystems without allocating one.</param>
    public XfsFreeSpaceReader(IBlockSource partition, XfsSuperblock superblock, long logFirst, long logBlocks,
        long maxMapBlocks = UsedBlockMap.MaxBlocks)
    {
        _partition = partition;
        _superblock = superblock;
        _logFirst = logFirst;
        _logEnd = logFirst + logBlocks;
        _maxMapBlocks = maxMapBlocks;
        _block = new byte[superblock.BlockSize];
        _sector = new byte[superblock.SectorSize];
    }

    /// <summary>Sum of agf_freeblks over the groups: blocks in the free-space trees.</summary>
    public long FreeBlocks { get; private set; }

    /// <summary>Sum of agf_flcount: blocks on the AGFLs.</summary>
    public long FreeListBlocks { get; private set; }

    /// <summary>Sum of agf_btreeblks: free-space B+tree blocks beyond the roots (kept only with lazy-count).</summary>
    public long BtreeBlocks { get; private set; }

    /// <summary>log2 of filesystem blocks per map block: 0, unless the filesystem has more blocks than a map may, as
    /// above 16 TiB at 4 KiB. A map block is then cleared only when all its filesystem blocks are free.</summary>
    public int UnitShift { get; private set; }

    /// <summary>Reads every group and returns the map.</summary>
    public UsedBlockMap Map()
    {
        ulong dataBlocks = _superblock.DataBlocks;
        int shift = 0;
        while (((dataBlocks - 1) >> shift) + 1 > (ulong)_maxMapBlocks)
        {
            shift++;
        }
        UnitShift = shift;
        var map = new UsedBlockMap((long)(((dataBlocks - 1) >> shift) + 1), (int)_superblock.BlockSize << shift);
        for (uint ag = 0; ag < _superblock.AgCount; ag++)
        {
            MapGroup(map, ag);
        }
        return map;
    }

    private void MapGroup(UsedBlockMap map, uint ag)
    {
        long agfOffset = _superblock.ByteOffset(ag, 0) + (XfsAgf.SectorInGroup * _superblock.SectorSize);
        _partition.ReadAt(agfOffset, _sector);
        var agf = XfsAgf.Parse(_sector, _superblock.HasCrc);
        agf.Validate(_superblock, ag, agfOffset);
        FreeListBlocks += agf.FreeListCount;
        BtreeBlocks += agf.BtreeBlocks;

        long previousEnd = XfsAgfl.HeaderBlocks(_superblock);
        var byBlock = WalkLeaves(agf, ag, byCount: false, (block, index, start, count) =>
        {
            CheckRecord(ag, block, false, index, start, count, previousEnd, agf.Length);
            MarkFree(map, _superblock.LinearBlock(ag, start), count);
            previousEnd = (long)start + count;
        });
        if (byBlock.Blocks != agf.FreeBlocks)
        {
            throw new DiskFormatException($"xfs AGF {ag}", "agf_freeblks", agf.FreeBlocks,
                agfOffset + XfsAgf.FreeBlocksOffset, $"is not the {byBlock.Blocks} free blocks the bnobt's records hold");
        }
        // The by-size tree holds the same extents in another order. Comparing the two as multisets (count, sum and an
        // order-free hash of the records) catches a record moved, resized or dropped in one tree, which the sum alone
        // misses and which v4, without CRCs, would otherwise map silently. xfs_repair cross-checks the trees likewise.
        var byCount = WalkLeaves(agf, ag, byCount: true, (block, index, start, count) =>
            CheckRecord(ag, block, true, index, start, count, XfsAgfl.HeaderBlocks(_superblock), agf.Length));
        if (byCount != byBlock)
        {
            throw new DiskFormatException($"xfs AGF {ag}", "free-space trees",
                $"bnobt {byBlock.Records} records/{byBlock.Blocks} blocks, cntbt {byCount.Records}/{byCount.Blocks}", agfOffset,
                "the by-block and by-size trees do not hold the same free extents");
        }
        FreeBlocks += byBlock.Blocks;
    }

    /// <summary>What a walk of one tree's leaves found: records, their blocks, and a hash that ignores their order.</summary>
    private readonly record struct TreeSummary(long Records, long Blocks, ulong Hash);

    /// <summary>Walks down the leftmost path to the first leaf, then right along the leaf siblings, calling
    /// <paramref name="record"/> (leaf block, index, start, count) for every record.</summary>
    /// <remarks>Every block read counts against the group's size, so a loop in the pointers or siblings ends there;
    /// each leaf's left sibling must be the leaf before it.</remarks>
    private TreeSummary WalkLeaves(XfsAgf agf, uint ag, bool byCount, Action<uint, int, uint, uint> record)
    {
        uint headerBlocks = XfsAgfl.HeaderBlocks(_superblock);
        string tree = XfsBtreeBlock.TreeName(byCount);
        long budget = agf.Length;
        uint block = byCount ? agf.ByCountRoot : agf.ByBlockRoot;
        int levels = (int)(byCount ? agf.ByCountLevel : agf.ByBlockLevel);
        for (int level = levels - 1; level > 0; level--)
        {
            var node = ReadBlock(ag, block, byCount, level, ref budget);
            uint child = node.Pointer(0);
            CheckBlockPointer(ag, block, tree, "pointer 0", child, headerBlocks, agf.Length);
            block = child;
        }

        long records = 0;
        long blocks = 0;
        ulong hash = 0;
        uint previousLeaf = XfsBtreeBlock.NoSibling;
        while (true)
        {
            var leaf = ReadBlock(ag, block, byCount, 0, ref budget);
            if (leaf.LeftSibling != previousLeaf)
            {
                throw new DiskFormatException($"xfs {tree} block {ag}/{block}", "bb_leftsib", leaf.LeftSibling,
                    _superblock.ByteOffset(ag, block) + XfsBtreeBlock.LeftSiblingOffset,
                    previousLeaf == XfsBtreeBlock.NoSibling ? "is not null in the leftmost leaf" : $"is not the previous leaf {previousLeaf}");
            }
            for (int i = 0; i < leaf.RecordCount; i++)
            {
                var (start, count) = leaf.Record(i);
                record(block, i, start, count);
                records++;
                blocks += count;
                hash += Mix(((ulong)start << 32) | count);
            }
            uint next = leaf.RightSibling;
            if (next == XfsBtreeBlock.NoSibling)
            {
                return new TreeSummary(records, blocks, hash);
            }
            CheckBlockPointer(ag, block, tree, "bb_rightsib", next, headerBlocks, agf.Length);
            previousLeaf = block;
            block = next;
        }
    }

    /// <summary>The splitmix64 finaliser: spreads a record's bits so that a sum of records is an order-free hash.</summary>
    private static ulong Mix(ulong value)
    {
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }

    private XfsBtreeBlock ReadBlock(uint ag, uint block, bool byCount, int level, ref long budget)
    {
        if (--budget < 0)
        {
            throw new DiskFormatException($"xfs {XfsBtreeBlock.TreeName(byCount)} of AG {ag}", "blocks visited", block, -1,
                "exceed the group's size: the tree's pointers loop");
        }
        long offset = _superblock.ByteOffset(ag, block);
        _partition.ReadAt(offset, _block);
        return XfsBtreeBlock.Parse(_block, _superblock, byCount, ag, block, offset, level);
    }

    private void CheckBlockPointer(uint ag, uint block, string tree, string field, uint target, uint headerBlocks, uint length)
    {
        if (target < headerBlocks || target >= length)
        {
            throw new DiskFormatException($"xfs {tree} block {ag}/{block}", field, target,
                _superblock.ByteOffset(ag, block), $"lies outside the group's blocks {headerBlocks}..{length - 1}");
        }
    }

    /// <summary>Checks one record; <paramref name="previousEnd"/> is where the previous record of the bnobt ended (records
    /// ascend there), or the end of the header sectors for the cntbt, whose records ascend by size instead.</summary>
    private void CheckRecord(uint ag, uint block, bool byCount, int index, uint start, uint count, long previousEnd, uint length)
    {
        string? problem = null;
        if (count == 0)
        {
            problem = "is empty";
        }
        else if (start < previousEnd)
        {
            problem = $"starts before block {previousEnd}, the end of the header sectors or of the previous record";
        }
        else if ((long)start + count > length)
        {
            problem = $"runs past the group's {length} blocks";
        }
        else
        {
            long first = _superblock.LinearBlock(ag, start);
            if (first < _logEnd && first + count > _logFirst)
            {
                problem = $"overlaps the internal log (blocks {_logFirst}..{_logEnd - 1})";
            }
        }
        if (problem is not null)
        {
            int headerSize = _superblock.HasCrc ? XfsBtreeBlock.V5HeaderSize : XfsBtreeBlock.V4HeaderSize;
            throw new DiskFormatException($"xfs {XfsBtreeBlock.TreeName(byCount)} block {ag}/{block}", $"record {index}", $"{start}+{count}",
                _superblock.ByteOffset(ag, block) + headerSize + (index * XfsBtreeBlock.RecordSize), problem);
        }
    }

    private void MarkFree(UsedBlockMap map, long first, long count)
    {
        long unit = 1L << UnitShift;
        long firstUnit = (first + unit - 1) >> UnitShift;
        long endUnit = (first + count) >> UnitShift;
        if (endUnit > firstUnit)
        {
            map.MarkFree(firstUnit, endUnit - firstUnit);
        }
    }
}
