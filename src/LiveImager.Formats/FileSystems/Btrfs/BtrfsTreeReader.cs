using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>One item of a leaf: its key, its bytes, and where they lie on the device (for messages).</summary>
public readonly record struct BtrfsLeafItem(BtrfsKey Key, ReadOnlyMemory<byte> Data, long DiskOffset);

/// <summary>Walks a btrfs B-tree in key order, checking every block as the kernel's tree checker would before it is
/// trusted: checksum, own logical address, filesystem UUID, owner, level, generation against its parent's pointer,
/// item bounds, and keys strictly ascending across the whole tree.</summary>
/// <remarks>Depth is bounded by the level (at most 7) and decreases by one per step; the number of blocks read is
/// bounded by <see cref="NodeBudget"/>, the count of tree blocks the metadata chunks can hold, so a hostile tree
/// whose pointers repeat cannot make the walk run long (it also breaks the ascending-key check). A DUP block whose
/// first copy fails a check is read from the second.</remarks>
public sealed class BtrfsTreeReader
{
    private const string Structure = "btrfs tree block";

    private readonly IBlockSource _partition;
    private readonly int _nodeSize;
    private readonly ushort _csumType;
    private readonly byte[] _fsid;

    public BtrfsTreeReader(IBlockSource partition, BtrfsSuperblock superblock, BtrfsChunkMap chunks, long nodeBudget)
    {
        _partition = partition;
        _nodeSize = (int)superblock.NodeSize;
        _csumType = superblock.CsumType;
        _fsid = superblock.TreeBlockFsid;
        Chunks = chunks;
        NodeBudget = nodeBudget;
    }

    /// <summary>The map through which logical addresses are read.</summary>
    public BtrfsChunkMap Chunks { get; set; }

    /// <summary>How many more tree blocks may be read.</summary>
    public long NodeBudget { get; private set; }

    /// <summary>Allows <paramref name="blocks"/> more tree blocks, once the chunks that hold them are known.</summary>
    public void AddBudget(long blocks) => NodeBudget += blocks;

    /// <summary>The items of tree <paramref name="tree"/> whose root node is at <paramref name="root"/>, in key order.</summary>
    /// <param name="enter">Called with the logical address of each block before it is read, the root's included;
    /// false skips that block and everything under it.</param>
    /// <param name="sharedBlocks">The tree is a subvolume (or reloc) tree, whose blocks may be shared with a snapshot
    /// and then owned by another subvolume: the owner is not checked.</param>
    public IEnumerable<BtrfsLeafItem> Walk(ulong tree, ulong root, byte rootLevel, ulong rootGeneration,
        Func<ulong, bool>? enter = null, bool sharedBlocks = false)
    {
        if (rootLevel > BtrfsSuperblock.MaxLevel)
        {
            throw new DiskFormatException(Structure, "root level", rootLevel, -1,
                $"tree {tree}: must be 0..{BtrfsSuperblock.MaxLevel}");
        }
        var blocks = new byte[rootLevel + 1][];
        var positions = new int[rootLevel + 1];
        var counts = new int[rootLevel + 1];
        var offsets = new long[rootLevel + 1];
        for (int i = 0; i <= rootLevel; i++)
        {
            blocks[i] = new byte[_nodeSize];
        }
        if (enter is not null && !enter(root))
        {
            yield break;
        }
        offsets[rootLevel] = Read(tree, root, rootLevel, rootGeneration, null, sharedBlocks, blocks[rootLevel], out counts[rootLevel]);
        BtrfsKey? last = null;
        int level = rootLevel;
        while (true)
        {
            if (level == 0)
            {
                var leaf = blocks[0];
                for (int i = 0; i < counts[0]; i++)
                {
                    int itemStart = BtrfsHeader.Size + (i * BtrfsHeader.ItemSize);
                    var key = BtrfsKey.Parse(leaf.AsSpan(itemStart));
                    CheckAscending(tree, ref last, key, offsets[0] + itemStart);
                    int dataOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(leaf.AsSpan(itemStart + BtrfsHeader.ItemDataOffsetOffset));
                    int dataSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(leaf.AsSpan(itemStart + BtrfsHeader.ItemDataSizeOffset));
                    int itemsEnd = BtrfsHeader.Size + (counts[0] * BtrfsHeader.ItemSize);
                    if (dataOffset < 0 || dataSize < 0 || BtrfsHeader.Size + (long)dataOffset < itemsEnd
                        || BtrfsHeader.Size + (long)dataOffset + dataSize > _nodeSize)
                    {
                        throw new DiskFormatException(Structure, "item offset", $"{dataOffset}+{dataSize}",
                            offsets[0] + itemStart + BtrfsHeader.ItemDataOffsetOffset,
                            $"tree {tree}: item {i} {key} must lie between the item headers and the end of the {_nodeSize}-byte leaf");
                    }
                    yield return new BtrfsLeafItem(key, leaf.AsMemory(BtrfsHeader.Size + dataOffset, dataSize),
                        offsets[0] + BtrfsHeader.Size + dataOffset);
                }
                if (rootLevel == 0)
                {
                    yield break;
                }
                level = 1;
                continue;
            }
            if (positions[level] >= counts[level])
            {
                if (level == rootLevel)
                {
                    yield break;
                }
                level++;
                continue;
            }
            var node = blocks[level];
            int pointerStart = BtrfsHeader.Size + (positions[level] * BtrfsHeader.KeyPtrSize);
            positions[level]++;
            var firstKey = BtrfsKey.Parse(node.AsSpan(pointerStart));
            ulong child = BinaryPrimitives.ReadUInt64LittleEndian(node.AsSpan(pointerStart + BtrfsHeader.KeyPtrBlockPtrOffset));
            ulong generation = BinaryPrimitives.ReadUInt64LittleEndian(node.AsSpan(pointerStart + BtrfsHeader.KeyPtrGenerationOffset));
            if (enter is not null && !enter(child))
            {
                continue;
            }
            level--;
            offsets[level] = Read(tree, child, level, generation, firstKey, sharedBlocks, blocks[level], out counts[level]);
            positions[level] = 0;
        }
    }

    /// <summary>Reads the tree block at <paramref name="logical"/> into <paramref name="block"/> from the first of its
    /// copies that passes every check, and returns that copy's physical offset.</summary>
    private long Read(ulong tree, ulong logical, int level, ulong generation, BtrfsKey? firstKey, bool sharedBlocks, byte[] block,
        out int count)
    {
        if (--NodeBudget < 0)
        {
            throw new DiskFormatException(Structure, "block count", "over budget", -1,
                $"tree {tree}: more tree blocks read than the metadata chunks hold; the tree must loop");
        }
        var chunk = Chunks.Find(logical, (ulong)_nodeSize)
            ?? throw new DiskFormatException(Structure, "bytenr", logical, -1,
                $"tree {tree} level {level}: no chunk maps the {_nodeSize} bytes at this logical address");
        DiskFormatException? first = null;
        foreach (var stripe in chunk.Stripes)
        {
            long physical = checked((long)(stripe.Offset + (logical - chunk.Logical)));
            _partition.ReadAt(physical, block);
            var problem = Check(tree, logical, physical, level, generation, firstKey, sharedBlocks, block, out count);
            if (problem is null)
            {
                return physical;
            }
            first ??= problem;
        }
        throw first!;
    }

    private DiskFormatException? Check(ulong tree, ulong logical, long physical, int level, ulong generation,
        BtrfsKey? firstKey, bool sharedBlocks, byte[] block, out int count)
    {
        count = 0;
        string where = $"tree {tree} block at logical {logical}";
        if (!BtrfsChecksum.Verify(_csumType, block, out string stored, out string computed))
        {
            return new DiskFormatException(Structure, "csum", stored, physical + BtrfsHeader.CsumOffset,
                $"{where}: does not match the computed {BtrfsChecksum.Name(_csumType)} {computed}");
        }
        var header = BtrfsHeader.Parse(block);
        if (header.Bytenr != logical)
        {
            return new DiskFormatException(Structure, "bytenr", header.Bytenr, physical + BtrfsHeader.BytenrOffset,
                $"{where}: a block must record its own logical address");
        }
        if (!header.Fsid.AsSpan().SequenceEqual(_fsid))
        {
            return new DiskFormatException(Structure, "fsid", Convert.ToHexString(header.Fsid), physical + BtrfsHeader.FsidOffset,
                $"{where}: is not this filesystem's {Convert.ToHexString(_fsid)}");
        }
        if (header.Owner != tree && !sharedBlocks)
        {
            return new DiskFormatException(Structure, "owner", header.Owner, physical + BtrfsHeader.OwnerOffset,
                $"{where}: belongs to another tree");
        }
        if (header.Level != level)
        {
            return new DiskFormatException(Structure, "level", header.Level, physical + BtrfsHeader.LevelOffset,
                $"{where}: its parent expects level {level}");
        }
        if (header.Generation != generation)
        {
            return new DiskFormatException(Structure, "generation", header.Generation, physical + BtrfsHeader.GenerationOffset,
                $"{where}: its parent expects generation {generation}");
        }
        uint capacity = BtrfsHeader.Capacity(_nodeSize, level);
        if (header.NrItems > capacity || (header.NrItems == 0 && (level > 0 || firstKey is not null)))
        {
            return new DiskFormatException(Structure, "nritems", header.NrItems, physical + BtrfsHeader.NrItemsOffset,
                $"{where}: must be 1..{capacity} (0 only in a tree's root leaf)");
        }
        count = (int)header.NrItems;
        int entrySize = level == 0 ? BtrfsHeader.ItemSize : BtrfsHeader.KeyPtrSize;
        BtrfsKey? previous = null;
        for (int i = 0; i < count; i++)
        {
            int start = BtrfsHeader.Size + (i * entrySize);
            var key = BtrfsKey.Parse(block.AsSpan(start));
            if (i == 0 && firstKey is { } expected && key != expected)
            {
                return new DiskFormatException(Structure, "first key", key, physical + start,
                    $"{where}: its parent's pointer says {expected}");
            }
            if (previous is { } before && key.CompareTo(before) <= 0)
            {
                return new DiskFormatException(Structure, "key", key, physical + start,
                    $"{where}: entry {i} does not follow {before}");
            }
            previous = key;
        }
        return null;
    }

    private static void CheckAscending(ulong tree, ref BtrfsKey? last, BtrfsKey key, long diskOffset)
    {
        if (last is { } before && key.CompareTo(before) <= 0)
        {
            throw new DiskFormatException(Structure, "key", key, diskOffset,
                $"tree {tree}: does not follow {before}; the tree's keys must ascend");
        }
        last = key;
    }
}
