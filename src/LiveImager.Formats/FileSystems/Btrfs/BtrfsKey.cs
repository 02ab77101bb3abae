using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>struct btrfs_disk_key: 17 bytes that order every item of every tree by (objectid, type, offset).</summary>
public readonly record struct BtrfsKey(ulong ObjectId, byte Type, ulong Offset) : IComparable<BtrfsKey>
{
    public const int Size = 0x11;

    private const int ObjectIdOffset = 0x00; // objectid
    private const int TypeOffset = 0x08;     // type
    private const int OffsetOffset = 0x09;   // offset

    // Item types (btrfs_tree.h BTRFS_*_KEY) that the used-block map reads.
    public const byte ExtentData = 108;        // EXTENT_DATA_KEY: (inode, EXTENT_DATA, file offset) in a subvolume
    public const byte RootItem = 132;          // ROOT_ITEM_KEY: (tree id, ROOT_ITEM, 0) in the root tree
    public const byte ExtentItem = 168;        // EXTENT_ITEM_KEY: (bytenr, EXTENT_ITEM, length)
    public const byte MetadataItem = 169;      // METADATA_ITEM_KEY: (bytenr, METADATA_ITEM, level), one node long
    public const byte BlockGroupItem = 192;    // BLOCK_GROUP_ITEM_KEY: (logical, BLOCK_GROUP_ITEM, length)
    public const byte DevExtent = 204;         // DEV_EXTENT_KEY: (devid, DEV_EXTENT, physical)
    public const byte DevItem = 216;           // DEV_ITEM_KEY: (DEV_ITEMS_OBJECTID, DEV_ITEM, devid)
    public const byte ChunkItem = 228;         // CHUNK_ITEM_KEY: (FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, logical)

    public static BtrfsKey Parse(ReadOnlySpan<byte> key) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(key[ObjectIdOffset..]),
        key[TypeOffset],
        BinaryPrimitives.ReadUInt64LittleEndian(key[OffsetOffset..]));

    public int CompareTo(BtrfsKey other)
    {
        int order = ObjectId.CompareTo(other.ObjectId);
        if (order == 0)
        {
            order = Type.CompareTo(other.Type);
        }
        return order != 0 ? order : Offset.CompareTo(other.Offset);
    }

    public override string ToString() => $"({ObjectId} {Type} {Offset})";
}
