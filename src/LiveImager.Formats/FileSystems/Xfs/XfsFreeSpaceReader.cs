namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>Builds the used-block map of an XFS data section from every group's free-space B+tree by block number.</summary>
/// <remarks>The map starts all used; only the extents of the bnobt's leaf records are cleared. Everything else stays
/// used: the AG headers, the inode, free-inode, reverse-map and refcount B+trees, the AGFL's blocks (see
/// <see cref="XfsAgfl"/>), the internal log, and file data. Each group's records must sum to its agf_freeblks; the
/// records must be ascending, disjoint, inside the group, clear of its header sectors and of the log.</remarks>
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

        uint length = agf.Length;
        uint headerBlocks = XfsAgfl.HeaderBlocks(_superblock);
        // Down the leftmost path to the first leaf; every block read counts against the group's size, so a loop in
        // the pointers or siblings ends there.
        long budget = length;
        uint block = agf.ByBlockRoot;
        for (int level = (int)agf.ByBlockLevel - 1; level > 0; level--)
        {
            var node = ReadBlock(ag, block, level, ref budget);
            uint child = node.Pointer(0);
            CheckBlockPointer(ag, block, "pointer 0", child, headerBlocks, length);
            block = child;
        }

        long sum = 0;
        long previousEnd = headerBlocks;
        uint previousLeaf = XfsBtreeBlock.NoSibling;
        while (true)
        {
            var leaf = ReadBlock(ag, block, 0, ref budget);
            if (leaf.LeftSibling != previousLeaf)
            {
                throw new DiskFormatException($"xfs bnobt block {ag}/{block}", "bb_leftsib", leaf.LeftSibling,
                    _superblock.ByteOffset(ag, block) + XfsBtreeBlock.LeftSiblingOffset,
                    previousLeaf == XfsBtreeBlock.NoSibling ? "is not null in the leftmost leaf" : $"is not the previous leaf {previousLeaf}");
            }
            for (int i = 0; i < leaf.RecordCount; i++)
            {
                var (start, count) = leaf.Record(i);
                CheckRecord(ag, block, i, start, count, previousEnd, length);
                long first = _superblock.LinearBlock(ag, start);
                MarkFree(map, first, count);
                sum += count;
                previousEnd = (long)start + count;
            }
            uint next = leaf.RightSibling;
            if (next == XfsBtreeBlock.NoSibling)
            {
                break;
            }
            CheckBlockPointer(ag, block, "bb_rightsib", next, headerBlocks, length);
            previousLeaf = block;
            block = next;
        }
        if (sum != agf.FreeBlocks)
        {
            throw new DiskFormatException($"xfs AGF {ag}", "agf_freeblks", agf.FreeBlocks,
                agfOffset + XfsAgf.FreeBlocksOffset, $"is not the {sum} free blocks the bnobt's records hold");
        }
        FreeBlocks += sum;
    }

    private XfsBtreeBlock ReadBlock(uint ag, uint block, int level, ref long budget)
    {
        if (--budget < 0)
        {
            throw new DiskFormatException($"xfs bnobt of AG {ag}", "blocks visited", block, -1,
                "exceed the group's size: the tree's pointers loop");
        }
        long offset = _superblock.ByteOffset(ag, block);
        _partition.ReadAt(offset, _block);
        return XfsBtreeBlock.Parse(_block, _superblock, ag, block, offset, level);
    }

    private void CheckBlockPointer(uint ag, uint block, string field, uint target, uint headerBlocks, uint length)
    {
        if (target < headerBlocks || target >= length)
        {
            throw new DiskFormatException($"xfs bnobt block {ag}/{block}", field, target,
                _superblock.ByteOffset(ag, block), $"lies outside the group's blocks {headerBlocks}..{length - 1}");
        }
    }

    private void CheckRecord(uint ag, uint block, int index, uint start, uint count, long previousEnd, uint length)
    {
        string? problem = null;
        if (count == 0)
        {
            problem = "is empty";
        }
        else if (start < previousEnd)
        {
            problem = $"starts before {previousEnd}, the end of the header sectors or of the previous record";
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
            throw new DiskFormatException($"xfs bnobt block {ag}/{block}", $"record {index}", $"{start}+{count}",
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
