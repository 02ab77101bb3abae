using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>struct btrfs_dev_item: one device of the filesystem, in the superblock and in the chunk tree.</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h.</remarks>
public readonly struct BtrfsDevItem
{
    public const int Size = 0x62;

    public const int DevIdOffset = 0x00;      // devid
    public const int TotalBytesOffset = 0x08; // total_bytes: the device's size as the filesystem uses it
    public const int BytesUsedOffset = 0x10;  // bytes_used: the sum of the device's allocated dev extents
    public const int UuidOffset = 0x42;       // uuid[16]
    public const int FsidOffset = 0x52;       // fsid[16]: the filesystem's (metadata) UUID

    private const int UuidLength = 16;

    public ulong DevId { get; private init; }
    public ulong TotalBytes { get; private init; }
    public ulong BytesUsed { get; private init; }
    public byte[] Uuid { get; private init; }
    public byte[] Fsid { get; private init; }

    public static BtrfsDevItem Parse(ReadOnlySpan<byte> item) => new()
    {
        DevId = BinaryPrimitives.ReadUInt64LittleEndian(item[DevIdOffset..]),
        TotalBytes = BinaryPrimitives.ReadUInt64LittleEndian(item[TotalBytesOffset..]),
        BytesUsed = BinaryPrimitives.ReadUInt64LittleEndian(item[BytesUsedOffset..]),
        Uuid = item.Slice(UuidOffset, UuidLength).ToArray(),
        Fsid = item.Slice(FsidOffset, UuidLength).ToArray(),
    };
}
