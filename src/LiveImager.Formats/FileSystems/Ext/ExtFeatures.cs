using System.Text;

namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>The superblock's feature bits that matter to the used-block map, with the names e2fsprogs prints.</summary>
/// <remarks>Values from the kernel's fs/ext4/ext4.h (EXT4_FEATURE_*), which e2fsprogs' lib/ext2fs/ext2_fs.h repeats.</remarks>
public static class ExtFeatures
{
    // COMPAT: a reader that ignores these still reads and writes the filesystem correctly.
    public const uint CompatHasJournal = 0x0004;
    public const uint CompatSparseSuper2 = 0x0200;

    // INCOMPAT: a reader that does not understand one of these must not read the filesystem.
    public const uint IncompatCompression = 0x0001;
    public const uint IncompatFiletype = 0x0002;
    public const uint IncompatRecover = 0x0004;
    public const uint IncompatJournalDev = 0x0008;
    public const uint IncompatMetaBg = 0x0010;
    public const uint IncompatExtents = 0x0040;
    public const uint Incompat64Bit = 0x0080;
    public const uint IncompatMmp = 0x0100;
    public const uint IncompatFlexBg = 0x0200;
    public const uint IncompatEaInode = 0x0400;
    public const uint IncompatDirData = 0x1000;
    public const uint IncompatCsumSeed = 0x2000;
    public const uint IncompatLargeDir = 0x4000;
    public const uint IncompatInlineData = 0x8000;
    public const uint IncompatEncrypt = 0x10000;
    public const uint IncompatCasefold = 0x20000;

    /// <summary>INCOMPAT features whose effect on block allocation this module knows fully.</summary>
    /// <remarks>Most of these change how files, directories or checksums are stored but never whether a block's bit in
    /// the block bitmap means "in use": extents, inline data, large directories, encryption, casefolding, EA inodes
    /// (their blocks are allocated like any file's), MMP (its block is allocated in the bitmap). meta_bg, 64bit,
    /// flex_bg and csum_seed change where the descriptors and bitmaps are and how they are checked; this module
    /// implements each. RECOVER is known but refused separately (the journal may hold newer bitmaps). Left out on
    /// purpose: COMPRESSION (never merged), JOURNAL_DEV (an external journal, not a filesystem), DIRDATA (Lustre).
    /// This is the set e2fsprogs 1.47 supports (EXT2_LIB_FEATURE_INCOMPAT_SUPP) less JOURNAL_DEV.</remarks>
    public const uint IncompatUnderstood = IncompatFiletype | IncompatRecover | IncompatMetaBg | IncompatExtents
        | Incompat64Bit | IncompatMmp | IncompatFlexBg | IncompatEaInode | IncompatCsumSeed | IncompatLargeDir
        | IncompatInlineData | IncompatEncrypt | IncompatCasefold;

    // RO_COMPAT: a reader that does not understand these may still read the filesystem, but must not write it.
    public const uint RoCompatSparseSuper = 0x0001;
    public const uint RoCompatLargeFile = 0x0002;
    public const uint RoCompatBtreeDir = 0x0004;
    public const uint RoCompatHugeFile = 0x0008;
    public const uint RoCompatGdtCsum = 0x0010;
    public const uint RoCompatDirNlink = 0x0020;
    public const uint RoCompatExtraIsize = 0x0040;
    public const uint RoCompatHasSnapshot = 0x0080;
    public const uint RoCompatQuota = 0x0100;
    public const uint RoCompatBigalloc = 0x0200;
    public const uint RoCompatMetadataCsum = 0x0400;
    public const uint RoCompatReplica = 0x0800;
    public const uint RoCompatReadonly = 0x1000;
    public const uint RoCompatProject = 0x2000;
    public const uint RoCompatSharedBlocks = 0x4000;
    public const uint RoCompatVerity = 0x8000;
    public const uint RoCompatOrphanPresent = 0x10000;

    /// <summary>RO_COMPAT features this module knows; others only earn a warning (see <see cref="ExtModule"/>).</summary>
    public const uint RoCompatUnderstood = RoCompatSparseSuper | RoCompatLargeFile | RoCompatBtreeDir | RoCompatHugeFile
        | RoCompatGdtCsum | RoCompatDirNlink | RoCompatExtraIsize | RoCompatQuota | RoCompatBigalloc
        | RoCompatMetadataCsum | RoCompatReadonly | RoCompatProject | RoCompatSharedBlocks | RoCompatVerity
        | RoCompatOrphanPresent;

    // What ext2 and ext3 drivers supported, as libblkid (util-linux superblocks/ext.c) decides between ext2, ext3
    // and ext4: anything beyond these makes the filesystem ext4.
    private const uint Ext3IncompatSupported = IncompatFiletype | IncompatRecover | IncompatMetaBg;
    private const uint Ext3RoCompatSupported = RoCompatSparseSuper | RoCompatLargeFile | RoCompatBtreeDir;

    /// <summary>ext2, ext3 or ext4, decided as blkid decides.</summary>
    public static FileSystemKind Classify(uint compat, uint incompat, uint roCompat)
    {
        if ((incompat & ~Ext3IncompatSupported) != 0 || (roCompat & ~Ext3RoCompatSupported) != 0)
        {
            return FileSystemKind.Ext4;
        }
        return (compat & CompatHasJournal) != 0 ? FileSystemKind.Ext3 : FileSystemKind.Ext2;
    }

    /// <summary>"0x80000001 (compression, bit 31)": the bits of <paramref name="bits"/>, named where e2fsprogs names them.</summary>
    public static string DescribeIncompat(uint bits) => Describe(bits, IncompatName);

    /// <summary>As <see cref="DescribeIncompat"/> for RO_COMPAT bits.</summary>
    public static string DescribeRoCompat(uint bits) => Describe(bits, RoCompatName);

    private static string Describe(uint bits, Func<uint, string?> name)
    {
        var text = new StringBuilder($"0x{bits:X}");
        var names = new List<string>();
        for (int bit = 0; bit < 32; bit++)
        {
            uint mask = 1u << bit;
            if ((bits & mask) != 0)
            {
                names.Add(name(mask) ?? $"bit {bit}");
            }
        }
        text.Append(" (").AppendJoin(", ", names).Append(')');
        return text.ToString();
    }

    private static string? IncompatName(uint bit) => bit switch
    {
        IncompatCompression => "compression",
        IncompatFiletype => "filetype",
        IncompatRecover => "needs_recovery",
        IncompatJournalDev => "journal_dev",
        IncompatMetaBg => "meta_bg",
        IncompatExtents => "extent",
        Incompat64Bit => "64bit",
        IncompatMmp => "mmp",
        IncompatFlexBg => "flex_bg",
        IncompatEaInode => "ea_inode",
        IncompatDirData => "dirdata",
        IncompatCsumSeed => "metadata_csum_seed",
        IncompatLargeDir => "large_dir",
        IncompatInlineData => "inline_data",
        IncompatEncrypt => "encrypt",
        IncompatCasefold => "casefold",
        _ => null,
    };

    private static string? RoCompatName(uint bit) => bit switch
    {
        RoCompatHasSnapshot => "snapshot",
        RoCompatReplica => "replica",
        _ => null,
    };
}
