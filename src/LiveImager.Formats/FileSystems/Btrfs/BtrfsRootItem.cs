using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>struct btrfs_root_item: where a tree's root node is, in the root tree under key (tree id, ROOT_ITEM, 0).</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h: a 160-byte btrfs_inode_item comes first.</remarks>
public readonly record struct BtrfsRootItem(ulong Generation, ulong Bytenr, byte Level, uint Refs)
{
    public const int GenerationOffset = 0xA0; // generation: the transaction that last wrote the root node
    public const int BytenrOffset = 0xB0;     // bytenr: logical address of the root node
    public const int RefsOffset = 0xD8;       // refs: 0 once a deleted subvolume awaits cleaning
    public const int LevelOffset = 0xEE;      // level: the root node's level

    /// <summary>The item's size before the fields added with subvolume UUIDs, the least a root item holds.</summary>
    public const int MinSize = 0xEF;

    // Trees (btrfs_tree.h BTRFS_*_TREE_OBJECTID) the used-block map reads.
    public const ulong RootTree = 1;
    public const ulong ExtentTree = 2;
    public const ulong ChunkTree = 3;
    public const ulong DevTree = 4;
    public const ulong FsTree = 5;
    public const ulong BlockGroupTree = 11;

    /// <summary>The first subvolume id (BTRFS_FIRST_FREE_OBJECTID); ids from here up, like the reloc (-8) and data
    /// reloc (-9) trees, hold files and share blocks with snapshots.</summary>
    public const ulong FirstSubvolume = 256;

    public static BtrfsRootItem Parse(ulong tree, ReadOnlySpan<byte> item, long diskOffset)
    {
        if (item.Length < MinSize)
        {
            throw new DiskFormatException("btrfs root item", "size", item.Length, diskOffset,
                $"tree {tree}: needs at least {MinSize} bytes");
        }
        return new BtrfsRootItem(BinaryPrimitives.ReadUInt64LittleEndian(item[GenerationOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(item[BytenrOffset..]), item[LevelOffset],
            BinaryPrimitives.ReadUInt32LittleEndian(item[RefsOffset..]));
    }
}
