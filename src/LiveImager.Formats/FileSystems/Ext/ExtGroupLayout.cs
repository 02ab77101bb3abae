namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>Where the superblock copies, descriptor blocks and groups lie, from the superblock alone.</summary>
/// <remarks>The rules of the kernel's fs/ext4/balloc.c and super.c (ext4_bg_has_super, ext4_num_base_meta_blocks,
/// descriptor_loc), which e2fsprogs' closefs.c and openfs.c repeat.</remarks>
public sealed class ExtGroupLayout(ExtSuperblock superblock)
{
    /// <summary>First block of <paramref name="group"/>.</summary>
    public long GroupFirstBlock(long group) => superblock.FirstDataBlock + group * superblock.BlocksPerGroup;

    /// <summary>Clusters in <paramref name="group"/>: s_clusters_per_group, fewer in a short last group.</summary>
    public long GroupClusterCount(long group)
    {
        long firstCluster = GroupFirstBlock(group) >> superblock.ClusterBits;
        return Math.Min(superblock.ClustersPerGroup, superblock.ClusterCount - firstCluster);
    }

    /// <summary>Whether <paramref name="group"/> holds a superblock copy (and, before meta_bg, descriptor copies).</summary>
    public bool HasSuperblock(long group)
    {
        if (group == 0)
        {
            return true;
        }
        if (superblock.HasCompat(ExtFeatures.CompatSparseSuper2))
        {
            return group == superblock.BackupBg0 || group == superblock.BackupBg1;
        }
        if (group <= 1 || !superblock.HasRoCompat(ExtFeatures.RoCompatSparseSuper))
        {
            return true;
        }
        return (group & 1) != 0 && (IsPowerOf(group, 3) || IsPowerOf(group, 5) || IsPowerOf(group, 7));
    }

    /// <summary>Blocks at the start of <paramref name="group"/> taken by its superblock copy, descriptor blocks and
    /// reserved descriptor blocks: what the kernel marks used when it builds a BLOCK_UNINIT group's bitmap.</summary>
    public long BaseMetaBlocks(long group)
    {
        bool hasSuper = HasSuperblock(group);
        long metaGroup = group / superblock.DescriptorsPerBlock;
        if (!superblock.IsMetaBg || metaGroup < superblock.FirstMetaBg)
        {
            if (!hasSuper)
            {
                return 0;
            }
            long descriptorBlocks = superblock.IsMetaBg ? superblock.FirstMetaBg : superblock.DescriptorBlocks;
            return 1 + descriptorBlocks + superblock.ReservedGdtBlocks;
        }
        // meta_bg: each meta group keeps its one descriptor block in its first, second and last groups.
        long index = group % superblock.DescriptorsPerBlock;
        bool hasDescriptor = index == 0 || index == 1 || index == superblock.DescriptorsPerBlock - 1;
        return (hasSuper ? 1 : 0) + (hasDescriptor ? 1 : 0);
    }

    /// <summary>The block holding primary descriptor block <paramref name="index"/>.</summary>
    public long DescriptorBlock(long index)
    {
        if (!superblock.IsMetaBg || index < superblock.FirstMetaBg)
        {
            return superblock.SuperblockBlock + 1 + index;
        }
        long firstGroup = index * superblock.DescriptorsPerBlock;
        long groupStart = GroupFirstBlock(firstGroup);
        // The block after the group's superblock copy; group 0 of a bigalloc filesystem with 1 KiB blocks starts at
        // block 0, the boot block, with the superblock in block 1.
        long afterSuper = HasSuperblock(firstGroup) ? (firstGroup == 0 ? superblock.SuperblockBlock : groupStart) + 1 : groupStart;
        return afterSuper;
    }

    private static bool IsPowerOf(long value, long root)
    {
        while (value % root == 0)
        {
            value /= root;
        }
        return value == 1;
    }
}
