using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>struct btrfs_dev_extent: a physical range of a device allocated to one chunk's stripe.</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h. The key is (devid, DEV_EXTENT, physical start);
/// the item lives in the device tree. It mirrors the chunk tree's stripes, which is how it is checked.</remarks>
public readonly record struct BtrfsDevExtent(ulong DevId, ulong Physical, ulong ChunkOffset, ulong Length)
{
    public const int Size = 0x30;

    public const int ChunkOffsetOffset = 0x10; // chunk_offset: the logical start of the chunk
    public const int LengthOffset = 0x18;      // length

    public static BtrfsDevExtent Parse(BtrfsKey key, ReadOnlySpan<byte> item, long diskOffset)
    {
        if (item.Length < Size)
        {
            throw new DiskFormatException("btrfs dev extent", "size", item.Length, diskOffset,
                $"dev extent at physical {key.Offset}: needs {Size} bytes");
        }
        return new BtrfsDevExtent(key.ObjectId, key.Offset,
            BinaryPrimitives.ReadUInt64LittleEndian(item[ChunkOffsetOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(item[LengthOffset..]));
    }
}
