namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>Builds the used-block map of a single-device btrfs from its chunk map, extent tree and block group items.</summary>
/// <remarks>Space is proven free in two ways only: device ranges outside every chunk stripe (unallocated), and, inside
/// a data or metadata chunk, the ranges between the extent tree's EXTENT_ITEMs and METADATA_ITEMs, in every stripe
/// (both copies of DUP). System chunks are mapped the same way. The primary superblock, its mirrors and the first
/// MiB (which btrfs never allocates; boot loaders may live there) are marked used at the end, whatever lies around
/// them. Every chunk's extents must add up to its BLOCK_GROUP_ITEM's used bytes and all of them to the superblock's
/// bytes_used; any mismatch throws, and the partition is copied whole: a block group whose count is off may hold an
/// extent the walk did not see, and once one count is wrong no other part of the trees is trusted either.</remarks>
public sealed class BtrfsExtentMapper(BtrfsSuperblock superblock, BtrfsTreeReader reader)
{
    /// <summary>What btrfs leaves unallocated at the start of every device (BTRFS_DEVICE_RANGE_RESERVED).</summary>
    public const long ReservedStart = 1L << 20;

    private const string Structure = "btrfs extent tree";

    private readonly uint _sectorSize = superblock.SectorSize;

    /// <summary>Maps the allocation. <paramref name="extentRoot"/> is the extent tree's root item;
    /// <paramref name="blockGroupRoot"/>, when compat_ro BLOCK_GROUP_TREE is set, the block group tree's.</summary>
    public UsedBlockMap Map(BtrfsRootItem extentRoot, BtrfsRootItem? blockGroupRoot)
    {
        var chunks = reader.Chunks.Chunks;
        long blockCount = (long)(superblock.DevItem.TotalBytes / _sectorSize);
        var map = new UsedBlockMap(blockCount, (int)_sectorSize);
        FreeUnallocated(map);

        var sums = new ulong[chunks.Count];
        var groups = new List<BtrfsBlockGroupItem>();
        int current = -1;
        ulong cursor = 0;
        foreach (var item in reader.Walk(BtrfsRootItem.ExtentTree, extentRoot.Bytenr, extentRoot.Level, extentRoot.Generation))
        {
            var key = item.Key;
            if (key.Type == BtrfsKey.BlockGroupItem)
            {
                if (blockGroupRoot is not null)
                {
                    throw new DiskFormatException(Structure, "key", key, item.DiskOffset,
                        "a block group item in the extent tree, though compat_ro block_group_tree keeps them in their own tree");
                }
                groups.Add(BtrfsBlockGroupItem.Parse(key, item.Data.Span, item.DiskOffset));
                continue;
            }
            if (key.Type is not (BtrfsKey.ExtentItem or BtrfsKey.MetadataItem))
            {
                continue;
            }
            ulong start = key.ObjectId;
            ulong length = key.Type == BtrfsKey.MetadataItem ? superblock.NodeSize : key.Offset;
            if (length == 0 || start % _sectorSize != 0 || length % _sectorSize != 0 || start > ulong.MaxValue - length)
            {
                throw new DiskFormatException(Structure, "extent", $"{start}+{length}", item.DiskOffset,
                    $"{key}: must be a non-empty run of whole {_sectorSize}-byte sectors");
            }
            while (current < 0 || start >= chunks[current].End)
            {
                if (current >= 0)
                {
                    FreeRange(map, chunks[current], cursor, chunks[current].End);
                }
                if (++current == chunks.Count)
                {
                    throw Outside(key, start, length, item.DiskOffset);
                }
                cursor = chunks[current].Logical;
            }
            var chunk = chunks[current];
            if (start < chunk.Logical || length > chunk.End - start)
            {
                throw Outside(key, start, length, item.DiskOffset);
            }
            if (start < cursor)
            {
                throw new DiskFormatException(Structure, "extent", $"{start}+{length}", item.DiskOffset,
                    $"{key}: overlaps the extent before it, which ends at logical {cursor}");
            }
            FreeRange(map, chunk, cursor, start);
            cursor = start + length;
            sums[current] += length;
        }
        if (current >= 0)
        {
            FreeRange(map, chunks[current], cursor, chunks[current].End);
        }
        for (int i = current + 1; i < chunks.Count; i++)
        {
            FreeRange(map, chunks[i], chunks[i].Logical, chunks[i].End);
        }

        if (blockGroupRoot is { } root)
        {
            foreach (var item in reader.Walk(BtrfsRootItem.BlockGroupTree, root.Bytenr, root.Level, root.Generation))
            {
                if (item.Key.Type == BtrfsKey.BlockGroupItem)
                {
                    groups.Add(BtrfsBlockGroupItem.Parse(item.Key, item.Data.Span, item.DiskOffset));
                }
            }
        }
        CrossCheck(chunks, groups, sums);

        MarkUsedBytes(map, 0, ReservedStart);
        foreach (long mirror in BtrfsSuperblock.MirrorOffsets)
        {
            MarkUsedBytes(map, mirror, BtrfsSuperblock.Size);
        }
        return map;
    }

    /// <summary>Clears every sector of the device that no chunk stripe covers.</summary>
    private void FreeUnallocated(UsedBlockMap map)
    {
        ulong deviceEnd = (ulong)map.BlockCount * _sectorSize;
        ulong free = 0;
        foreach (var (physical, chunk) in reader.Chunks.Stripes)
        {
            FreeBytes(map, free, physical);
            free = Math.Max(free, physical + chunk.Length);
        }
        FreeBytes(map, free, deviceEnd);
    }

    /// <summary>Clears the logical range [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="chunk"/>
    /// in every one of its stripes.</summary>
    private void FreeRange(UsedBlockMap map, BtrfsChunkItem chunk, ulong start, ulong end)
    {
        if (end <= start)
        {
            return;
        }
        foreach (var stripe in chunk.Stripes)
        {
            FreeBytes(map, stripe.Offset + (start - chunk.Logical), stripe.Offset + (end - chunk.Logical));
        }
    }

    /// <summary>Clears the whole sectors inside the physical range [<paramref name="start"/>, <paramref name="end"/>).</summary>
    private void FreeBytes(UsedBlockMap map, ulong start, ulong end)
    {
        ulong first = (start + _sectorSize - 1) / _sectorSize;
        ulong last = Math.Min(end / _sectorSize, (ulong)map.BlockCount);
        if (last > first)
        {
            map.MarkFree((long)first, (long)(last - first));
        }
    }

    private void MarkUsedBytes(UsedBlockMap map, long start, long length)
    {
        long first = start / _sectorSize;
        long end = Math.Min((start + length + _sectorSize - 1) / _sectorSize, map.BlockCount);
        if (end > first)
        {
            map.MarkUsed(first, end - first);
        }
    }

    /// <summary>Each chunk has exactly one block group item of its range and type, whose used bytes are the sum of the
    /// chunk's extents; and the superblock's bytes_used is the sum of them all.</summary>
    private void CrossCheck(IReadOnlyList<BtrfsChunkItem> chunks, List<BtrfsBlockGroupItem> groups, ulong[] sums)
    {
        const string GroupStructure = "btrfs block group item";
        if (groups.Count != chunks.Count)
        {
            throw new DiskFormatException(GroupStructure, "count", groups.Count, -1,
                $"there are {chunks.Count} chunks, and each chunk is one block group");
        }
        groups.Sort((a, b) => a.Logical.CompareTo(b.Logical));
        ulong total = 0;
        for (int i = 0; i < chunks.Count; i++)
        {
            var (chunk, group) = (chunks[i], groups[i]);
            if (group.Logical != chunk.Logical || group.Length != chunk.Length || group.Flags != chunk.Type)
            {
                throw new DiskFormatException(GroupStructure, "key", $"({group.Logical} {group.Length}) flags 0x{group.Flags:X}", group.DiskOffset,
                    $"does not match the chunk at logical {chunk.Logical} ({chunk.Length} bytes, type 0x{chunk.Type:X})");
            }
            if (group.Used != sums[i])
            {
                throw new DiskFormatException(GroupStructure, "used", group.Used, group.DiskOffset + BtrfsBlockGroupItem.UsedOffset,
                    $"block group at logical {group.Logical}: its extents in the extent tree add up to {sums[i]} bytes");
            }
            total += sums[i];
        }
        if (total != superblock.BytesUsed)
        {
            BtrfsSuperblock.Fail("bytes_used", superblock.BytesUsed, BtrfsSuperblock.BytesUsedOffset,
                $"the block groups' used bytes add up to {total}");
        }
    }

    private static DiskFormatException Outside(BtrfsKey key, ulong start, ulong length, long diskOffset) =>
        new(Structure, "extent", $"{start}+{length}", diskOffset, $"{key}: lies in no chunk, or across a chunk's end");
}
