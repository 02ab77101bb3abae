using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>struct btrfs_header: the first 101 bytes of every tree block, then item headers (a leaf) or key pointers
/// (a node).</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h (struct btrfs_header, btrfs_item,
/// btrfs_key_ptr).</remarks>
public readonly struct BtrfsHeader
{
    public const int Size = 0x65;

    public const int CsumOffset = 0x00;       // csum[32]: over bytes 0x20..nodesize
    public const int FsidOffset = 0x20;       // fsid[16]: the filesystem's (metadata) UUID
    public const int BytenrOffset = 0x30;     // bytenr: the block's own logical address
    public const int GenerationOffset = 0x50; // generation: the transaction that wrote it
    public const int OwnerOffset = 0x58;      // owner: the tree it belongs to
    public const int NrItemsOffset = 0x60;    // nritems
    public const int LevelOffset = 0x64;      // level: 0 for a leaf

    /// <summary>struct btrfs_item in a leaf: key, then offset and size of its data from the end of the header.</summary>
    public const int ItemSize = 0x19;
    public const int ItemDataOffsetOffset = 0x11; // btrfs_item.offset
    public const int ItemDataSizeOffset = 0x15;   // btrfs_item.size

    /// <summary>struct btrfs_key_ptr in a node: key, then the child's logical address and generation.</summary>
    public const int KeyPtrSize = 0x21;
    public const int KeyPtrBlockPtrOffset = 0x11;   // btrfs_key_ptr.blockptr
    public const int KeyPtrGenerationOffset = 0x19; // btrfs_key_ptr.generation

    private const int UuidLength = 16;

    public byte[] Fsid { get; private init; }
    public ulong Bytenr { get; private init; }
    public ulong Generation { get; private init; }
    public ulong Owner { get; private init; }
    public uint NrItems { get; private init; }
    public byte Level { get; private init; }

    public static BtrfsHeader Parse(ReadOnlySpan<byte> block) => new()
    {
        Fsid = block.Slice(FsidOffset, UuidLength).ToArray(),
        Bytenr = BinaryPrimitives.ReadUInt64LittleEndian(block[BytenrOffset..]),
        Generation = BinaryPrimitives.ReadUInt64LittleEndian(block[GenerationOffset..]),
        Owner = BinaryPrimitives.ReadUInt64LittleEndian(block[OwnerOffset..]),
        NrItems = BinaryPrimitives.ReadUInt32LittleEndian(block[NrItemsOffset..]),
        Level = block[LevelOffset],
    };

    /// <summary>How many items (a leaf) or key pointers (a node) fit in a block of <paramref name="nodeSize"/> bytes.</summary>
    public static uint Capacity(int nodeSize, int level) => (uint)((nodeSize - Size) / (level == 0 ? ItemSize : KeyPtrSize));
}
