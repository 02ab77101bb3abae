namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>btrfs on one device: used bytes are the extent tree's allocated extents, found through the chunk tree in
/// every stripe of their chunk (both copies of DUP), plus the superblock, its mirrors and the device's first MiB.</summary>
/// <remarks>The superblock's sys_chunk_array locates the chunk tree; the chunk tree maps the whole logical address
/// space; the root tree locates the extent, device and (with compat_ro block_group_tree) block group trees. The device
/// tree's extents must mirror the chunk stripes exactly, and the extents must add up to every block group's and the
/// superblock's used bytes (<see cref="BtrfsExtentMapper"/>), and every tree block and file extent reachable from the
/// superblock must lie in the finished map (<see cref="BtrfsReferenceCheck"/>). Copied whole, with the reason: a
/// filesystem on several devices, RAID profiles (only single and dup chunks are mapped), unknown incompat or compat_ro
/// flags, a tree log awaiting replay, xxhash64 or blake2b checksums, and any inconsistency (as a
/// <see cref="DiskFormatException"/>).
/// partclone 0.3.23 never reads the block group tree, which leaves restores unmountable; here its items are read
/// from the format's definition, and must pass the same cross-checks as when they are in the extent tree.</remarks>
public sealed class BtrfsModule : IFileSystemModule
{
    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        BtrfsSuperblock.HasSignature(head) ? FileSystemKind.Btrfs : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        const FileSystemKind Kind = FileSystemKind.Btrfs;
        if (partition.Length < BtrfsSuperblock.Offset + BtrfsSuperblock.Size)
        {
            throw new DiskFormatException("btrfs superblock", "partition size", partition.Length, 0,
                $"is too small to hold the superblock at byte {BtrfsSuperblock.Offset}");
        }
        var raw = new byte[BtrfsSuperblock.Size];
        partition.ReadAt(BtrfsSuperblock.Offset, raw);
        var superblock = BtrfsSuperblock.Parse(raw);
        if (superblock.MagicValue != BtrfsSuperblock.Magic)
        {
            BtrfsSuperblock.Fail("magic", $"0x{superblock.MagicValue:X16}", BtrfsSuperblock.MagicOffset,
                $"is not 0x{BtrfsSuperblock.Magic:X16} (\"_BHRfS_M\")");
        }
        string? label = superblock.Label;
        string uuid = superblock.FsidText;
        FileSystemAnalysis WholeCopy(string reason) => FileSystemAnalysis.WholeCopy(Kind, partition.Length, reason, label, uuid);

        if (!BtrfsChecksum.IsChecked(superblock.CsumType))
        {
            return WholeCopy($"btrfs metadata checksums are {BtrfsChecksum.Name(superblock.CsumType)}, "
                + "which this tool does not verify (crc32c and sha256 only)");
        }
        superblock.Validate(raw, partition.Length);
        if (superblock.NumDevices != 1)
        {
            return WholeCopy($"btrfs spans {superblock.NumDevices} devices (num_devices); only single-device filesystems are mapped");
        }
        ulong unknownIncompat = superblock.IncompatFlags & ~BtrfsFeatures.IncompatUnderstood;
        if (unknownIncompat != 0)
        {
            return WholeCopy($"btrfs has incompat features this tool does not map: {BtrfsFeatures.DescribeIncompat(unknownIncompat)}");
        }
        ulong unknownCompatRo = superblock.CompatRoFlags & ~BtrfsFeatures.CompatRoUnderstood;
        if (unknownCompatRo != 0)
        {
            return WholeCopy($"btrfs has compat_ro features this tool does not map: {BtrfsFeatures.DescribeCompatRo(unknownCompatRo)}");
        }
        ulong unknownFlags = superblock.Flags & ~BtrfsFeatures.SuperFlagsUnderstood;
        if (unknownFlags != 0)
        {
            return WholeCopy($"btrfs superblock flags {BtrfsFeatures.DescribeSuperFlags(unknownFlags)}: "
                + "errors recorded, an image of metadata only, or a conversion under way");
        }
        if (superblock.LogRoot != 0)
        {
            // Blocks of the tree log, and the data extents it points at, are not in the extent tree until the log is
            // replayed on the next mount: a used-blocks-only copy would lose what was fsynced last.
            return WholeCopy($"btrfs has a tree log to replay at logical {superblock.LogRoot} (log_root): "
                + "the last fsynced changes are not yet in the extent tree");
        }

        // Bootstrap: the system chunks in the superblock are enough to read the chunk tree, which lives in them.
        var systemChunks = ReadSysChunkArray(superblock);
        if (FirstUnsupported(systemChunks, superblock) is { } systemReason)
        {
            return WholeCopy(systemReason);
        }
        ulong deviceBytes = superblock.DevItem.TotalBytes;
        var bootstrap = new BtrfsChunkMap(systemChunks, deviceBytes, superblock.SectorSize);
        var reader = new BtrfsTreeReader(partition, superblock, bootstrap, NodeCapacity(systemChunks, superblock));
        var (chunks, devItem) = ReadChunkTree(reader, superblock);
        if (FirstUnsupported(chunks, superblock) is { } reason)
        {
            return WholeCopy(reason);
        }
        var chunkMap = new BtrfsChunkMap(chunks, deviceBytes, superblock.SectorSize);
        CheckSystemChunks(systemChunks, chunkMap);
        CheckDeviceBytesUsed(devItem, chunkMap);
        reader.Chunks = chunkMap;
        long metadataCapacity = NodeCapacity(chunks.Where(c => (c.Type & (BtrfsChunkItem.TypeMetadata | BtrfsChunkItem.TypeSystem)) != 0),
            superblock);
        reader.AddBudget(metadataCapacity);

        bool blockGroupTree = (superblock.CompatRoFlags & BtrfsFeatures.CompatRoBlockGroupTree) != 0;
        var roots = ReadRoots(reader, superblock);
        var extentRoot = Root(roots, BtrfsRootItem.ExtentTree, "extent");
        var devRoot = Root(roots, BtrfsRootItem.DevTree, "device");
        BtrfsRootItem? blockGroupRoot = blockGroupTree ? Root(roots, BtrfsRootItem.BlockGroupTree, "block group") : null;
        CheckDevExtents(reader, devRoot, superblock.DevItem.DevId);

        var map = new BtrfsExtentMapper(superblock, reader).Map(extentRoot, blockGroupRoot);
        // The check reads every live tree block once more; the walks so far may have used up the first budget.
        reader.AddBudget(metadataCapacity);
        new BtrfsReferenceCheck(superblock, reader, map).Check(roots);
        string method = blockGroupTree ? "btrfs extent tree and block group tree" : "btrfs extent tree";
        return new FileSystemAnalysis(Kind, label, uuid, map, method, []);
    }

    /// <summary>The chunks in the superblock's sys_chunk_array: (key, chunk item) pairs packed without item headers.</summary>
    private static List<BtrfsChunkItem> ReadSysChunkArray(BtrfsSuperblock superblock)
    {
        const string Structure = "btrfs sys_chunk_array";
        var array = superblock.SysChunkArray.AsSpan(0, (int)superblock.SysChunkArraySize);
        var chunks = new List<BtrfsChunkItem>();
        int offset = 0;
        while (offset < array.Length)
        {
            long diskOffset = BtrfsSuperblock.Offset + BtrfsSuperblock.SysChunkArrayOffset + offset;
            if (array.Length - offset < BtrfsKey.Size)
            {
                throw new DiskFormatException(Structure, "key", array.Length - offset, diskOffset, "the array ends inside a key");
            }
            var key = BtrfsKey.Parse(array[offset..]);
            if (key.ObjectId != BtrfsChunkItem.ObjectId || key.Type != BtrfsKey.ChunkItem)
            {
                throw new DiskFormatException(Structure, "key", key, diskOffset,
                    $"is not a chunk item key ({BtrfsChunkItem.ObjectId} {BtrfsKey.ChunkItem} logical)");
            }
            offset += BtrfsKey.Size;
            int size = BtrfsChunkItem.StoredSize(array[offset..]);
            if (size < 0 || size > array.Length - offset)
            {
                throw new DiskFormatException(Structure, "num_stripes", size, diskOffset + BtrfsKey.Size,
                    $"the chunk item at logical {key.Offset} runs past the array's {array.Length} bytes");
            }
            var chunk = BtrfsChunkItem.Parse(key.Offset, array.Slice(offset, size), diskOffset + BtrfsKey.Size);
            if (!chunk.IsSystem)
            {
                throw new DiskFormatException(Structure, "type", $"0x{chunk.Type:X}", diskOffset + BtrfsKey.Size + BtrfsChunkItem.TypeOffset,
                    $"chunk at logical {chunk.Logical} is not a system chunk");
            }
            chunks.Add(chunk);
            offset += size;
        }
        if (chunks.Count == 0)
        {
            BtrfsSuperblock.Fail("sys_chunk_array_size", superblock.SysChunkArraySize, BtrfsSuperblock.SysChunkArraySizeOffset,
                "holds no chunk, so the chunk tree cannot be found");
        }
        return chunks;
    }

    private static (List<BtrfsChunkItem> Chunks, BtrfsDevItem DevItem) ReadChunkTree(BtrfsTreeReader reader, BtrfsSuperblock superblock)
    {
        var chunks = new List<BtrfsChunkItem>();
        BtrfsDevItem? devItem = null;
        foreach (var item in reader.Walk(BtrfsRootItem.ChunkTree, superblock.ChunkRoot, superblock.ChunkRootLevel,
                     superblock.ChunkRootGeneration))
        {
            if (item.Key.Type == BtrfsKey.ChunkItem && item.Key.ObjectId == BtrfsChunkItem.ObjectId)
            {
                chunks.Add(BtrfsChunkItem.Parse(item.Key.Offset, item.Data.Span, item.DiskOffset));
            }
            else if (item.Key.Type == BtrfsKey.DevItem)
            {
                if (item.Data.Length < BtrfsDevItem.Size)
                {
                    throw new DiskFormatException("btrfs dev item", "size", item.Data.Length, item.DiskOffset,
                        $"needs {BtrfsDevItem.Size} bytes");
                }
                var parsed = BtrfsDevItem.Parse(item.Data.Span);
                if (devItem is not null || parsed.DevId != superblock.DevItem.DevId || item.Key.Offset != parsed.DevId)
                {
                    throw new DiskFormatException("btrfs dev item", "devid", parsed.DevId, item.DiskOffset,
                        $"the chunk tree of a single-device filesystem holds one device item, for devid {superblock.DevItem.DevId}");
                }
                devItem = parsed;
            }
        }
        if (devItem is not { } found)
        {
            throw new DiskFormatException("btrfs chunk tree", "dev item", "none", -1,
                $"no device item for devid {superblock.DevItem.DevId}");
        }
        return (chunks, found);
    }

    private static string? FirstUnsupported(IEnumerable<BtrfsChunkItem> chunks, BtrfsSuperblock superblock) =>
        chunks.Select(chunk => BtrfsChunkMap.UnsupportedReason(chunk, superblock.DevItem.DevId)).FirstOrDefault(r => r is not null);

    /// <summary>How many tree blocks <paramref name="chunks"/> can hold: the bound on blocks a walk may read.</summary>
    private static long NodeCapacity(IEnumerable<BtrfsChunkItem> chunks, BtrfsSuperblock superblock) =>
        chunks.Aggregate(0L, (sum, chunk) => sum + (long)(chunk.Length / superblock.NodeSize));

    /// <summary>Every system chunk the superblock lists is in the chunk tree, the same.</summary>
    private static void CheckSystemChunks(List<BtrfsChunkItem> systemChunks, BtrfsChunkMap chunkMap)
    {
        foreach (var chunk in systemChunks)
        {
            var found = chunkMap.Find(chunk.Logical, chunk.Length);
            if (found is null || found.Logical != chunk.Logical || found.Length != chunk.Length || found.Type != chunk.Type
                || !found.Stripes.SequenceEqual(chunk.Stripes))
            {
                throw new DiskFormatException("btrfs sys_chunk_array", "chunk", chunk.Logical, chunk.DiskOffset,
                    "the system chunk at this logical address is not the same in the chunk tree");
            }
        }
    }

    /// <summary>The device item's bytes_used is what the chunk stripes occupy on the device.</summary>
    private static void CheckDeviceBytesUsed(BtrfsDevItem devItem, BtrfsChunkMap chunkMap)
    {
        ulong allocated = chunkMap.Stripes.Aggregate(0UL, (sum, stripe) => sum + stripe.Chunk.Length);
        if (devItem.BytesUsed != allocated)
        {
            throw new DiskFormatException("btrfs dev item", "bytes_used", devItem.BytesUsed, -1,
                $"the chunk stripes on the device add up to {allocated} bytes");
        }
    }

    /// <summary>Every root item in the root tree, by key (tree id, ROOT_ITEM, 0 or a snapshot's or reloc tree's
    /// offset). The count is bounded by the root tree's blocks, which the reader's node budget bounds.</summary>
    private static List<(BtrfsKey Key, BtrfsRootItem Root)> ReadRoots(BtrfsTreeReader reader, BtrfsSuperblock superblock) =>
        reader.Walk(BtrfsRootItem.RootTree, superblock.Root, superblock.RootLevel, superblock.Generation)
            .Where(item => item.Key.Type == BtrfsKey.RootItem)
            .Select(item => (item.Key, BtrfsRootItem.Parse(item.Key.ObjectId, item.Data.Span, item.DiskOffset)))
            .ToList();

    private static BtrfsRootItem Root(List<(BtrfsKey Key, BtrfsRootItem Root)> roots, ulong tree, string name) =>
        roots.Where(r => r.Key.ObjectId == tree).Select(r => (BtrfsRootItem?)r.Root).FirstOrDefault()
            ?? throw new DiskFormatException("btrfs root tree", "root item", tree, -1, $"the {name} tree ({tree}) has no root item");

    /// <summary>The device tree's extents are exactly the chunk stripes: same start, length and chunk.</summary>
    private static void CheckDevExtents(BtrfsTreeReader reader, BtrfsRootItem devRoot, ulong devId)
    {
        const string Structure = "btrfs dev extent";
        var stripes = reader.Chunks.Stripes;
        int index = 0;
        foreach (var item in reader.Walk(BtrfsRootItem.DevTree, devRoot.Bytenr, devRoot.Level, devRoot.Generation))
        {
            if (item.Key.Type != BtrfsKey.DevExtent)
            {
                continue;
            }
            var extent = BtrfsDevExtent.Parse(item.Key, item.Data.Span, item.DiskOffset);
            if (index >= stripes.Count || extent.DevId != devId || extent.Physical != stripes[index].Physical
                || extent.Length != stripes[index].Chunk.Length || extent.ChunkOffset != stripes[index].Chunk.Logical)
            {
                string expected = index < stripes.Count
                    ? $"the next chunk stripe is at physical {stripes[index].Physical}, {stripes[index].Chunk.Length} bytes of the chunk at logical {stripes[index].Chunk.Logical}"
                    : "every chunk stripe already has its dev extent";
                throw new DiskFormatException(Structure, "key", item.Key, item.DiskOffset,
                    $"dev extent of {extent.Length} bytes for logical {extent.ChunkOffset}: {expected}");
            }
            index++;
        }
        if (index != stripes.Count)
        {
            throw new DiskFormatException(Structure, "count", index, -1,
                $"the chunk tree has {stripes.Count} stripes; stripe at physical {stripes[index].Physical} has no dev extent");
        }
    }
}
