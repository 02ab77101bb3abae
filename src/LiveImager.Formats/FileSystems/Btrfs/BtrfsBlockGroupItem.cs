using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>struct btrfs_block_group_item: how many bytes of one chunk's logical range are allocated.</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h. The key is (logical start, BLOCK_GROUP_ITEM,
/// length); the item lives in the extent tree, or in the block group tree when compat_ro BLOCK_GROUP_TREE is set.</remarks>
public readonly record struct BtrfsBlockGroupItem(ulong Logical, ulong Length, ulong Used, ulong Flags, long DiskOffset)
{
    public const int Size = 0x18;

    public const int UsedOffset = 0x00;          // used: the sum of the extents allocated in the group
    public const int ChunkObjectIdOffset = 0x08; // chunk_objectid
    public const int FlagsOffset = 0x10;         // flags: the chunk's type and profile

    public static BtrfsBlockGroupItem Parse(BtrfsKey key, ReadOnlySpan<byte> item, long diskOffset)
    {
        if (item.Length < Size)
        {
            throw new DiskFormatException("btrfs block group item", "size", item.Length, diskOffset,
                $"block group at logical {key.ObjectId}: needs {Size} bytes");
        }
        return new BtrfsBlockGroupItem(key.ObjectId, key.Offset,
            BinaryPrimitives.ReadUInt64LittleEndian(item[UsedOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(item[FlagsOffset..]), diskOffset);
    }
}
