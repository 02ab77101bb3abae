using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>struct btrfs_file_extent_item: which on-disk extent (if any) holds a range of a file.</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h. The key is (inode, EXTENT_DATA, file offset).
/// An inline extent keeps its data in the leaf after the type byte; a regular or preallocated one names its whole
/// disk extent, of which the file may use only part; disk_bytenr 0 is a hole.</remarks>
public readonly record struct BtrfsFileExtentItem(byte Type, ulong DiskBytenr, ulong DiskNumBytes)
{
    public const int TypeOffset = 0x14;         // type: inline, regular or prealloc
    public const int DiskBytenrOffset = 0x15;   // disk_bytenr: logical start of the disk extent, 0 for a hole
    public const int DiskNumBytesOffset = 0x1D; // disk_num_bytes: the disk extent's length
    public const int Size = 0x35;               // up to and with num_bytes, for regular and prealloc extents

    public const byte Inline = 0;   // BTRFS_FILE_EXTENT_INLINE
    public const byte Regular = 1;  // BTRFS_FILE_EXTENT_REG
    public const byte Prealloc = 2; // BTRFS_FILE_EXTENT_PREALLOC

    /// <summary>Whether the item names a disk extent (a regular or preallocated extent that is not a hole).</summary>
    public bool HasDiskExtent => Type is Regular or Prealloc && DiskBytenr != 0;

    public static BtrfsFileExtentItem Parse(BtrfsKey key, ReadOnlySpan<byte> item, long diskOffset)
    {
        const string Structure = "btrfs file extent item";
        if (item.Length <= TypeOffset)
        {
            throw new DiskFormatException(Structure, "size", item.Length, diskOffset, $"{key}: too short to hold its type");
        }
        byte type = item[TypeOffset];
        if (type == Inline)
        {
            return new BtrfsFileExtentItem(type, 0, 0);
        }
        if (type is not (Regular or Prealloc))
        {
            throw new DiskFormatException(Structure, "type", type, diskOffset + TypeOffset, $"{key}: is not inline, regular or prealloc");
        }
        if (item.Length < Size)
        {
            throw new DiskFormatException(Structure, "size", item.Length, diskOffset, $"{key}: a regular extent needs {Size} bytes");
        }
        return new BtrfsFileExtentItem(type, BinaryPrimitives.ReadUInt64LittleEndian(item[DiskBytenrOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(item[DiskNumBytesOffset..]));
    }
}
