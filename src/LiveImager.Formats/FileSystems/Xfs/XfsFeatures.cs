namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>The v5 superblock's feature words this tool knows (libxfs xfs_format.h, XFS_SB_FEAT_*).</summary>
public static class XfsFeatures
{
    public const uint IncompatFileType = 0x01;      // XFS_SB_FEAT_INCOMPAT_FTYPE: file type in directory entries
    public const uint IncompatSparseInodes = 0x02;  // XFS_SB_FEAT_INCOMPAT_SPINODES
    public const uint IncompatMetaUuid = 0x04;      // XFS_SB_FEAT_INCOMPAT_META_UUID: metadata carries sb_meta_uuid
    public const uint IncompatBigTime = 0x08;       // XFS_SB_FEAT_INCOMPAT_BIGTIME
    public const uint IncompatNeedsRepair = 0x10;   // XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR: xfs_repair must run first
    public const uint IncompatLargeExtentCounts = 0x20; // XFS_SB_FEAT_INCOMPAT_NREXT64

    /// <summary>The incompat features that leave the AG headers and the free-space B+tree as this module reads them:
    /// they change inodes, directories and timestamps only. NEEDSREPAIR is known but handled apart.</summary>
    public const uint IncompatUnderstood = IncompatFileType | IncompatSparseInodes | IncompatMetaUuid | IncompatBigTime
        | IncompatLargeExtentCounts | IncompatNeedsRepair;

    public const uint RoCompatFreeInodeBtree = 0x01; // XFS_SB_FEAT_RO_COMPAT_FINOBT
    public const uint RoCompatReverseMap = 0x02;     // XFS_SB_FEAT_RO_COMPAT_RMAPBT
    public const uint RoCompatReflink = 0x04;        // XFS_SB_FEAT_RO_COMPAT_REFLINK: shared extents stay allocated
    public const uint RoCompatInodeBtreeCounts = 0x08; // XFS_SB_FEAT_RO_COMPAT_INOBTCNT

    /// <summary>The ro_compat features known to keep free space in the by-block B+tree alone.</summary>
    public const uint RoCompatUnderstood = RoCompatFreeInodeBtree | RoCompatReverseMap | RoCompatReflink
        | RoCompatInodeBtreeCounts;

    private static readonly (uint Bit, string Name)[] s_incompatNames =
    [
        (IncompatFileType, "ftype"), (IncompatSparseInodes, "sparse"), (IncompatMetaUuid, "meta_uuid"),
        (IncompatBigTime, "bigtime"), (IncompatNeedsRepair, "needsrepair"), (IncompatLargeExtentCounts, "nrext64"),
        (0x40, "exchange"), (0x80, "parent"), (0x100, "metadir"),
    ];

    /// <summary>"0x40 (exchange), 0x80000000 (bit 31)": the bits of an incompat word, named where known.</summary>
    public static string DescribeIncompat(uint bits)
    {
        var names = new List<string>();
        for (int bit = 0; bit < 32; bit++)
        {
            uint mask = 1u << bit;
            if ((bits & mask) == 0)
            {
                continue;
            }
            string? name = s_incompatNames.FirstOrDefault(pair => pair.Bit == mask).Name;
            names.Add(name ?? $"bit {bit}");
        }
        return $"0x{bits:X} ({string.Join(", ", names)})";
    }
}
