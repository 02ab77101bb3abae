namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>Checks a finished used-block map against what the filesystem really uses: every tree block reachable from
/// the superblock (root tree, chunk tree and every tree the root tree lists, subvolumes and snapshots included) and
/// every disk extent a file extent item names must lie in sectors the map keeps, in every stripe.</summary>
/// <remarks>The extent tree's own cross-checks (each block group's used bytes, the superblock's bytes_used) add up
/// lengths, so they cannot see an extent item whose key moved: a METADATA_ITEM or EXTENT_ITEM whose bytenr was
/// changed to another free range of the same chunk keeps every count, yet the map then frees the block or data that
/// really lies at the old address. Only following the references finds that. Blocks shared by snapshots are read
/// once (<see cref="_visited"/>); the walk reads every live tree block, so its cost is the metadata's size, and the
/// reader's node budget (the metadata chunks' capacity) bounds it and the visited set. A range is checked a word of
/// the map at a time, as file extent items name their whole disk extent however little of it they use. A subvolume being deleted
/// (root item refs 0) is not walked: the cleaner frees its blocks as it goes, and those it has not freed yet are
/// still extent items the map keeps.</remarks>
public sealed class BtrfsReferenceCheck(BtrfsSuperblock superblock, BtrfsTreeReader reader, UsedBlockMap map)
{
    private const string Structure = "btrfs extent tree";

    private readonly HashSet<ulong> _visited = [];

    /// <summary>Walks the trees: <paramref name="roots"/> are the root tree's ROOT_ITEMs, by key.</summary>
    public void Check(IEnumerable<(BtrfsKey Key, BtrfsRootItem Root)> roots)
    {
        WalkTree(BtrfsRootItem.RootTree, superblock.Root, superblock.RootLevel, superblock.Generation);
        WalkTree(BtrfsRootItem.ChunkTree, superblock.ChunkRoot, superblock.ChunkRootLevel, superblock.ChunkRootGeneration);
        foreach (var (key, root) in roots)
        {
            if (root.Refs != 0)
            {
                WalkTree(key.ObjectId, root.Bytenr, root.Level, root.Generation);
            }
        }
    }

    private void WalkTree(ulong tree, ulong root, byte level, ulong generation)
    {
        bool subvolume = tree is BtrfsRootItem.FsTree or >= BtrfsRootItem.FirstSubvolume;
        foreach (var item in reader.Walk(tree, root, level, generation, block => Enter(tree, block), subvolume))
        {
            if (item.Key.Type != BtrfsKey.ExtentData)
            {
                continue;
            }
            var extent = BtrfsFileExtentItem.Parse(item.Key, item.Data.Span, item.DiskOffset);
            if (extent.HasDiskExtent)
            {
                RequireKept(tree, extent.DiskBytenr, extent.DiskNumBytes, $"file extent {item.Key}", item.DiskOffset);
            }
        }
    }

    /// <summary>Checks the tree block at <paramref name="logical"/> the first time it is met; false when it was met
    /// before, in this tree or another that shares it.</summary>
    private bool Enter(ulong tree, ulong logical)
    {
        if (!_visited.Add(logical))
        {
            return false;
        }
        RequireKept(tree, logical, superblock.NodeSize, "tree block", -1);
        return true;
    }

    /// <summary>Throws unless every sector of the logical range lies in a chunk and is used in the map, in every stripe.</summary>
    private void RequireKept(ulong tree, ulong logical, ulong length, string what, long diskOffset)
    {
        var chunk = length == 0 ? null : reader.Chunks.Find(logical, length);
        if (chunk is null)
        {
            throw new DiskFormatException(Structure, "reference", $"{logical}+{length}", diskOffset,
                $"tree {tree}: {what} points at bytes no chunk holds");
        }
        ulong sector = superblock.SectorSize;
        foreach (var stripe in chunk.Stripes)
        {
            // The chunk map holds every stripe inside the device, and the map covers the device.
            ulong start = stripe.Offset + (logical - chunk.Logical);
            long first = (long)(start / sector);
            long count = (long)((start + length + sector - 1) / sector) - first;
            long free = map.FirstFree(first, count);
            if (free < first + count)
            {
                throw new DiskFormatException(Structure, "extent", $"{logical}+{length}", diskOffset,
                    $"tree {tree}: {what} uses these bytes, but no extent item lists them (physical {free * (long)sector} would be left out)");
            }
        }
    }
}
