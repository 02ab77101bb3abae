using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>XFS v4 and v5: used blocks are everything not in an allocation group's free-space B+tree by block number.</summary>
/// <remarks>As xfs_db's freesp and partclone.xfs read free space, from each AGF's bnobt; with 64-bit block arithmetic
/// throughout. A filesystem whose map cannot be trusted from the data device alone is copied whole, with the reason:
/// an external log or a log that needs recovery (replay would rewrite the free-space trees), a realtime section,
/// NEEDSREPAIR or unknown incompat features, an unfinished mkfs.</remarks>
public sealed class XfsModule : IFileSystemModule
{
    /// <summary>Bytes read before the sector size is known: the smallest XFS sector.</summary>
    private const int MinSectorSize = 512;

    private readonly long _maxMapBlocks;

    public XfsModule()
        : this(UsedBlockMap.MaxBlocks)
    {
    }

    /// <summary>A module whose maps have at most <paramref name="maxMapBlocks"/> blocks (tests of huge geometries).</summary>
    public XfsModule(long maxMapBlocks) => _maxMapBlocks = maxMapBlocks;

    public FileSystemKind Probe(ReadOnlySpan<byte> head)
    {
        if (head.Length < XfsSuperblock.Size
            || BinaryPrimitives.ReadUInt32BigEndian(head[XfsSuperblock.MagicOffset..]) != XfsSuperblock.Magic)
        {
            return FileSystemKind.Unknown;
        }
        int version = BinaryPrimitives.ReadUInt16BigEndian(head[XfsSuperblock.VersionOffset..]) & 0xF;
        return version is 4 or 5 ? FileSystemKind.Xfs : FileSystemKind.Unknown;
    }

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var superblock = ReadSuperblock(partition);
        superblock.Validate(partition.Length);
        const FileSystemKind kind = FileSystemKind.Xfs;
        string? label = superblock.Name;
        string uuid = superblock.UuidText;
        FileSystemAnalysis WholeCopy(string reason) =>
            FileSystemAnalysis.WholeCopy(kind, partition.Length, reason, label, uuid);

        uint unknownIncompat = superblock.FeaturesIncompat & ~XfsFeatures.IncompatUnderstood;
        if (unknownIncompat != 0)
        {
            return WholeCopy($"xfs has incompat features this tool does not understand: {XfsFeatures.DescribeIncompat(unknownIncompat)}");
        }
        if ((superblock.FeaturesIncompat & XfsFeatures.IncompatNeedsRepair) != 0)
        {
            return WholeCopy("xfs is marked NEEDSREPAIR: xfs_repair must run before its metadata can be trusted");
        }
        if (superblock.InProgress != 0)
        {
            return WholeCopy("xfs has sb_inprogress set: mkfs.xfs did not finish");
        }
        if (superblock.RealtimeBlocks != 0)
        {
            return WholeCopy($"xfs has a realtime section of {superblock.RealtimeBlocks} blocks on another device");
        }
        if (superblock.LogStart == 0)
        {
            return WholeCopy("xfs has an external log: whether it needs recovery cannot be seen from this partition");
        }
        if (superblock.FeaturesLogIncompat != 0)
        {
            // Set while the log holds items only newer kernels replay, cleared when the log is cleaned at unmount.
            return WholeCopy($"xfs has log incompat features 0x{superblock.FeaturesLogIncompat:X}: the log was not cleaned");
        }

        var (logAg, logAgBlock) = superblock.SplitFsBlock(superblock.LogStart);
        if (logAg >= superblock.AgCount || logAgBlock + superblock.LogBlocks > superblock.AgLength((uint)logAg))
        {
            XfsSuperblock.Fail("sb_logstart", superblock.LogStart, XfsSuperblock.LogStartOffset,
                $"with sb_logblocks {superblock.LogBlocks} does not lie inside one allocation group");
        }
        long logFirst = superblock.LinearBlock((uint)logAg, (uint)logAgBlock);
        var log = new XfsLog(partition, logFirst * superblock.BlockSize, (long)superblock.LogBlocks * superblock.BlockSize);
        if (log.WhyNotClean() is { } dirty)
        {
            return WholeCopy($"xfs log is not clean ({dirty}); mount the filesystem once to replay it");
        }

        var warnings = new List<string>();
        uint unknownRoCompat = superblock.FeaturesRoCompat & ~XfsFeatures.RoCompatUnderstood;
        if (unknownRoCompat != 0)
        {
            // RO_COMPAT promises that a reader unaware of the feature can still read: the AGF and bnobt keep their
            // meaning. A feature that allocated space outside the bnobt's knowledge would fail the free-count checks.
            warnings.Add($"xfs has ro_compat features this tool does not know: 0x{unknownRoCompat:X}; free space was read as usual");
        }

        var reader = new XfsFreeSpaceReader(partition, superblock, logFirst, superblock.LogBlocks, _maxMapBlocks);
        UsedBlockMap map = reader.Map();
        // The rule for sb_fdblocks: the AGFs are authoritative (each checked against its own bnobt above), as the
        // kernel itself recomputes the superblock counters from them (xfs_initialize_perag_data) whenever it cannot
        // trust them. With lazy-count (always on v5) sb_fdblocks is free space + AGFL + free-space-tree blocks beyond
        // the roots, written exactly at a clean unmount, which the clean log above has proven. A filesystem that
        // disagrees with itself there was changed behind the kernel's back: copied whole. Without lazy-count (old v4)
        // agf_btreeblks is not kept, so sb_fdblocks may only exceed free space + AGFL by those uncounted tree blocks.
        long expected = reader.FreeBlocks + reader.FreeListBlocks + (superblock.HasLazySbCount ? reader.BtreeBlocks : 0);
        if ((ulong)expected != superblock.FreeDataBlocks && (superblock.HasLazySbCount
            || superblock.FreeDataBlocks < (ulong)expected))
        {
            return FileSystemAnalysis.WholeCopy(kind, partition.Length, "xfs free counts disagree", label, uuid,
                [$"xfs superblock: sb_fdblocks = {superblock.FreeDataBlocks} is not the {expected} blocks the AGFs "
                + "count (agf_freeblks + agf_flcount + agf_btreeblks)"]);
        }
        if (reader.UnitShift > 0)
        {
            warnings.Add($"xfs has {superblock.DataBlocks} blocks, more than a map holds: mapped in units of "
                + $"{1 << reader.UnitShift} blocks, each copied unless wholly free");
        }
        return new FileSystemAnalysis(kind, label, uuid, map, $"xfs v{superblock.Version} free-space B+trees", warnings);
    }

    private static XfsSuperblock ReadSuperblock(IBlockSource partition)
    {
        if (partition.Length < MinSectorSize)
        {
            throw new DiskFormatException("xfs superblock", "partition length", partition.Length, 0,
                $"is smaller than one {MinSectorSize}-byte sector");
        }
        var first = new byte[MinSectorSize];
        partition.ReadAt(0, first);
        int sectorSize = BinaryPrimitives.ReadUInt16BigEndian(first.AsSpan(XfsSuperblock.SectorSizeOffset));
        // The crc covers the whole sector; an implausible size is left for Validate to name, read as 512 bytes.
        if (sectorSize <= MinSectorSize || sectorSize > 32768 || (sectorSize & (sectorSize - 1)) != 0
            || sectorSize > partition.Length)
        {
            return XfsSuperblock.Parse(first);
        }
        var sector = new byte[sectorSize];
        partition.ReadAt(0, sector);
        return XfsSuperblock.Parse(sector);
    }
}
