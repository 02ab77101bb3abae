namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>What a restore does to an ext filesystem whose unused inode-table ends were not copied: clears
/// EXT4_BG_INODE_ZEROED (and rewrites bg_checksum) in each group whose table end was left out although the flag says
/// the table is zeroed, so the target is what <c>mke2fs -E lazy_itable_init=1</c> leaves: the kernel's lazy init
/// zeroes those blocks in the background after the first mount, and until then nothing reads them.</summary>
/// <remarks>Run on the target after the image's bytes are written, so that the image keeps the source's exact bytes
/// (<c>verify --against</c> the source compares them all). The groups are found again from the restored descriptors
/// with the capture's own rule (<see cref="ExtBitmapReader"/> pass 4), which a clear flag can only widen: clearing it on
/// a group whose table end was copied costs the kernel a needless zeroing, nothing more. Backup descriptors are left
/// alone, as the kernel leaves them.</remarks>
public static class ExtInodeTableFixup
{
    /// <summary>The name a partition's <c>fixups</c> carry in the image metadata.</summary>
    public const string Name = "ext-clear-inode-zeroed";

    /// <summary>The primary descriptor blocks to rewrite on <paramref name="partition"/>, as (byte offset in the
    /// partition, new block), in ascending order; one block is held at a time.</summary>
    /// <exception cref="DiskFormatException">The restored superblock does not validate.</exception>
    public static IEnumerable<(long Offset, byte[] Block)> Patches(IBlockSource partition)
    {
        var raw = new byte[ExtSuperblock.Size];
        partition.ReadAt(ExtSuperblock.Offset, raw);
        var superblock = ExtSuperblock.Parse(raw);
        superblock.Validate(partition.Length);
        if (!superblock.HasGroupDescCsum)
        {
            yield break;
        }
        var layout = new ExtGroupLayout(superblock);
        int size = superblock.DescriptorSize;
        long group = 0;
        for (long index = 0; index < superblock.DescriptorBlocks; index++)
        {
            long offset = checked(layout.DescriptorBlock(index) * superblock.BlockSize);
            var block = new byte[superblock.BlockSize];
            partition.ReadAt(offset, block);
            bool changed = false;
            for (int slot = 0; slot < superblock.DescriptorsPerBlock && group < superblock.GroupCount; slot++, group++)
            {
                Span<byte> bytes = block.AsSpan(slot * size, size);
                var descriptor = ExtGroupDescriptor.Parse(bytes);
                if (descriptor.IsInodeZeroed
                    && descriptor.ItableUnused <= superblock.InodesPerGroup
                    && descriptor.UnusedInodeTableBlocks(superblock) > 0
                    && ExtGroupDescriptor.ComputeChecksum(bytes, (uint)group, superblock) == descriptor.Checksum)
                {
                    ExtGroupDescriptor.ClearInodeZeroed(bytes, (uint)group, superblock);
                    changed = true;
                }
            }
            if (changed)
            {
                yield return (offset, block);
            }
        }
    }
}
