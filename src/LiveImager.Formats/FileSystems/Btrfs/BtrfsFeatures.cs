using System.Text;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>The superblock's feature and state flags that matter to the used-block map, named as btrfs-progs names them.</summary>
/// <remarks>Values from the kernel's include/uapi/linux/btrfs_tree.h and btrfs.h (BTRFS_FEATURE_*, BTRFS_SUPER_FLAG_*).</remarks>
public static class BtrfsFeatures
{
    // incompat_flags: a reader that does not understand one of these must not read the filesystem.
    public const ulong IncompatMixedBackref = 1UL << 0;
    public const ulong IncompatDefaultSubvol = 1UL << 1;
    public const ulong IncompatMixedGroups = 1UL << 2;
    public const ulong IncompatCompressLzo = 1UL << 3;
    public const ulong IncompatCompressZstd = 1UL << 4;
    public const ulong IncompatBigMetadata = 1UL << 5;
    public const ulong IncompatExtendedIref = 1UL << 6;
    public const ulong IncompatRaid56 = 1UL << 7;
    public const ulong IncompatSkinnyMetadata = 1UL << 8;
    public const ulong IncompatNoHoles = 1UL << 9;
    public const ulong IncompatMetadataUuid = 1UL << 10;
    public const ulong IncompatRaid1C34 = 1UL << 11;
    public const ulong IncompatZoned = 1UL << 12;
    public const ulong IncompatExtentTreeV2 = 1UL << 13;
    public const ulong IncompatRaidStripeTree = 1UL << 14;
    public const ulong IncompatSimpleQuota = 1UL << 16;

    /// <summary>incompat flags whose effect on allocation this module knows fully.</summary>
    /// <remarks>Backref formats, default subvolume, compression, inode refs, skinny metadata items (handled: a
    /// METADATA_ITEM is one node long), no-holes and mixed block groups (data and metadata extents in one block
    /// group, each still an extent item) change what files look like, never that an allocated extent has an extent
    /// item inside its block group. METADATA_UUID changes the UUID tree blocks carry; handled. RAID1C34 only allows
    /// profiles that need three or more devices, which the chunk check refuses. Left out on purpose: RAID56 (parity
    /// stripes), ZONED (zone write pointers decide what is written), EXTENT_TREE_V2 (a new extent tree layout),
    /// RAID_STRIPE_TREE (logical-to-physical through another tree) and SIMPLE_QUOTA (owner references inside items).</remarks>
    public const ulong IncompatUnderstood = IncompatMixedBackref | IncompatDefaultSubvol | IncompatMixedGroups
        | IncompatCompressLzo | IncompatCompressZstd | IncompatBigMetadata | IncompatExtendedIref
        | IncompatSkinnyMetadata | IncompatNoHoles | IncompatMetadataUuid | IncompatRaid1C34;

    // compat_ro_flags: a reader that does not understand these may read, but not write, the filesystem.
    public const ulong CompatRoFreeSpaceTree = 1UL << 0;
    public const ulong CompatRoFreeSpaceTreeValid = 1UL << 1;
    public const ulong CompatRoVerity = 1UL << 2;
    public const ulong CompatRoBlockGroupTree = 1UL << 3;

    /// <summary>compat_ro flags this module knows.</summary>
    /// <remarks>Unlike ext4's, an unknown btrfs compat_ro flag is refused: BLOCK_GROUP_TREE showed that such a flag
    /// can move the very items the map is built from (the block group items) while old readers still read.</remarks>
    public const ulong CompatRoUnderstood = CompatRoFreeSpaceTree | CompatRoFreeSpaceTreeValid | CompatRoVerity
        | CompatRoBlockGroupTree;

    // The superblock's flags field.
    public const ulong SuperFlagWritten = 1UL << 0;      // BTRFS_HEADER_FLAG_WRITTEN, shared with tree blocks
    public const ulong SuperFlagError = 1UL << 2;        // errors were detected while mounted
    public const ulong SuperFlagSeeding = 1UL << 32;     // a read-only seed device
    public const ulong SuperFlagMetadump = 1UL << 33;    // made by btrfs-image: metadata only, data is garbage
    public const ulong SuperFlagMetadumpV2 = 1UL << 34;
    public const ulong SuperFlagChangingFsid = 1UL << 35;
    public const ulong SuperFlagChangingFsidV2 = 1UL << 36;
    public const ulong SuperFlagChangingBgTree = 1UL << 38; // btrfstune converting to or from the block group tree
    public const ulong SuperFlagChangingDataCsum = 1UL << 44;
    public const ulong SuperFlagChangingMetaCsum = 1UL << 45;

    /// <summary>Superblock flags under which the trees describe the filesystem as mounted.</summary>
    public const ulong SuperFlagsUnderstood = SuperFlagWritten | SuperFlagSeeding;

    /// <summary>"0x2080 (raid56, extent_tree_v2)": the bits of <paramref name="bits"/>, named as btrfs-progs names them.</summary>
    public static string DescribeIncompat(ulong bits) => Describe(bits, IncompatName);

    /// <summary>As <see cref="DescribeIncompat"/> for compat_ro bits.</summary>
    public static string DescribeCompatRo(ulong bits) => Describe(bits, CompatRoName);

    /// <summary>As <see cref="DescribeIncompat"/> for the superblock's flags.</summary>
    public static string DescribeSuperFlags(ulong bits) => Describe(bits, SuperFlagName);

    private static string Describe(ulong bits, Func<ulong, string?> name)
    {
        var names = new List<string>();
        for (int bit = 0; bit < 64; bit++)
        {
            ulong mask = 1UL << bit;
            if ((bits & mask) != 0)
            {
                names.Add(name(mask) ?? $"bit {bit}");
            }
        }
        return new StringBuilder($"0x{bits:X}").Append(" (").AppendJoin(", ", names).Append(')').ToString();
    }

    private static string? IncompatName(ulong bit) => bit switch
    {
        IncompatMixedBackref => "mixed_backref",
        IncompatDefaultSubvol => "default_subvol",
        IncompatMixedGroups => "mixed_groups",
        IncompatCompressLzo => "compress_lzo",
        IncompatCompressZstd => "compress_zstd",
        IncompatBigMetadata => "big_metadata",
        IncompatExtendedIref => "extended_iref",
        IncompatRaid56 => "raid56",
        IncompatSkinnyMetadata => "skinny_metadata",
        IncompatNoHoles => "no_holes",
        IncompatMetadataUuid => "metadata_uuid",
        IncompatRaid1C34 => "raid1c34",
        IncompatZoned => "zoned",
        IncompatExtentTreeV2 => "extent_tree_v2",
        IncompatRaidStripeTree => "raid_stripe_tree",
        IncompatSimpleQuota => "simple_quota",
        _ => null,
    };

    private static string? CompatRoName(ulong bit) => bit switch
    {
        CompatRoFreeSpaceTree => "free_space_tree",
        CompatRoFreeSpaceTreeValid => "free_space_tree_valid",
        CompatRoVerity => "verity",
        CompatRoBlockGroupTree => "block_group_tree",
        _ => null,
    };

    private static string? SuperFlagName(ulong bit) => bit switch
    {
        SuperFlagWritten => "written",
        SuperFlagError => "error",
        SuperFlagSeeding => "seeding",
        SuperFlagMetadump => "metadump",
        SuperFlagMetadumpV2 => "metadump_v2",
        SuperFlagChangingFsid => "changing_fsid",
        SuperFlagChangingFsidV2 => "changing_fsid_v2",
        SuperFlagChangingBgTree => "changing_bg_tree",
        SuperFlagChangingDataCsum => "changing_data_csum",
        SuperFlagChangingMetaCsum => "changing_meta_csum",
        _ => null,
    };
}
