using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>One block group's descriptor: where its bitmaps and inode table are, its free count and flags.</summary>
/// <remarks>32 bytes, or s_desc_size (at least 64) with 64bit, whose upper half holds the high 32 bits of each field.
/// Offsets from the kernel's Documentation/filesystems/ext4/group_descr.rst (struct ext4_group_desc).</remarks>
public readonly struct ExtGroupDescriptor
{
    public const int BlockBitmapLoOffset = 0x00;     // bg_block_bitmap_lo
    public const int InodeBitmapLoOffset = 0x04;     // bg_inode_bitmap_lo
    public const int InodeTableLoOffset = 0x08;      // bg_inode_table_lo
    public const int FreeBlocksCountLoOffset = 0x0C; // bg_free_blocks_count_lo (clusters under bigalloc)
    public const int FlagsOffset = 0x12;             // bg_flags
    public const int BlockBitmapCsumLoOffset = 0x18; // bg_block_bitmap_csum_lo
    public const int ItableUnusedLoOffset = 0x1C;    // bg_itable_unused_lo: inodes at the table's end never used
    public const int ChecksumOffset = 0x1E;          // bg_checksum
    public const int BlockBitmapHiOffset = 0x20;     // bg_block_bitmap_hi
    public const int InodeBitmapHiOffset = 0x24;     // bg_inode_bitmap_hi
    public const int InodeTableHiOffset = 0x28;      // bg_inode_table_hi
    public const int FreeBlocksCountHiOffset = 0x2C; // bg_free_blocks_count_hi
    public const int ItableUnusedHiOffset = 0x32;    // bg_itable_unused_hi
    public const int BlockBitmapCsumHiOffset = 0x38; // bg_block_bitmap_csum_hi

    /// <summary>Descriptors at least this long carry the high fields (EXT4_MIN_DESC_SIZE_64BIT).</summary>
    public const int HighFieldsSize = 0x40;

    /// <summary>bg_flags: the block bitmap was never initialised; the kernel computes it (EXT4_BG_BLOCK_UNINIT).</summary>
    public const ushort FlagBlockUninit = 0x0002;

    /// <summary>bg_flags: the inode table was zeroed, by mke2fs or the kernel's lazy init (EXT4_BG_INODE_ZEROED).</summary>
    public const ushort FlagInodeZeroed = 0x0004;

    public ulong BlockBitmap { get; private init; }
    public ulong InodeBitmap { get; private init; }
    public ulong InodeTable { get; private init; }
    public uint FreeClustersCount { get; private init; }
    public ushort Flags { get; private init; }
    public uint ItableUnused { get; private init; }
    public uint BlockBitmapCsum { get; private init; }
    public ushort Checksum { get; private init; }

    /// <summary>Whether <see cref="BlockBitmapCsum"/> holds 32 bits; otherwise only its low 16 bits are stored.</summary>
    public bool HasFullBlockBitmapCsum { get; private init; }

    public bool IsBlockUninit => (Flags & FlagBlockUninit) != 0;

    public bool IsInodeZeroed => (Flags & FlagInodeZeroed) != 0;

    /// <summary>Blocks at the end of the group's inode table that hold no inode ever used: those past
    /// s_inodes_per_group − bg_itable_unused inodes, rounded up to a block, as the kernel's ext4_init_inode_table
    /// (fs/ext4/ialloc.c) counts the blocks it zeroes. The caller checks <see cref="ItableUnused"/> against
    /// s_inodes_per_group first.</summary>
    public long UnusedInodeTableBlocks(ExtSuperblock superblock)
    {
        long usedInodes = superblock.InodesPerGroup - Math.Min(ItableUnused, superblock.InodesPerGroup);
        long inodesPerBlock = superblock.BlockSize / superblock.InodeSize;
        return superblock.InodeTableBlocks - (usedInodes + inodesPerBlock - 1) / inodesPerBlock;
    }

    /// <summary>Parses a descriptor of <paramref name="descriptor"/>.Length bytes (32, or s_desc_size with 64bit).</summary>
    public static ExtGroupDescriptor Parse(ReadOnlySpan<byte> descriptor)
    {
        bool high = descriptor.Length >= HighFieldsSize;
        return new ExtGroupDescriptor
        {
            BlockBitmap = Combine(descriptor, BlockBitmapLoOffset, high ? BlockBitmapHiOffset : -1),
            InodeBitmap = Combine(descriptor, InodeBitmapLoOffset, high ? InodeBitmapHiOffset : -1),
            InodeTable = Combine(descriptor, InodeTableLoOffset, high ? InodeTableHiOffset : -1),
            FreeClustersCount = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[FreeBlocksCountLoOffset..])
                | (high ? (uint)BinaryPrimitives.ReadUInt16LittleEndian(descriptor[FreeBlocksCountHiOffset..]) << 16 : 0),
            Flags = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[FlagsOffset..]),
            ItableUnused = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[ItableUnusedLoOffset..])
                | (high ? (uint)BinaryPrimitives.ReadUInt16LittleEndian(descriptor[ItableUnusedHiOffset..]) << 16 : 0),
            BlockBitmapCsum = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[BlockBitmapCsumLoOffset..])
                | (high ? (uint)BinaryPrimitives.ReadUInt16LittleEndian(descriptor[BlockBitmapCsumHiOffset..]) << 16 : 0),
            HasFullBlockBitmapCsum = high,
            Checksum = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[ChecksumOffset..]),
        };
    }

    /// <summary>bg_checksum as e2fsprogs' ext2fs_group_desc_csum computes it for group <paramref name="group"/>.</summary>
    /// <remarks>metadata_csum: the low 16 bits of crc32c(seed, group number, descriptor with bg_checksum zeroed).
    /// gdt_csum: crc16(~0, uuid, group number, descriptor without bg_checksum).</remarks>
    public static ushort ComputeChecksum(ReadOnlySpan<byte> descriptor, uint group, in ExtSuperblock superblock)
    {
        Span<byte> groupBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(groupBytes, group);
        ReadOnlySpan<byte> zero = [0, 0];
        ReadOnlySpan<byte> before = descriptor[..ChecksumOffset];
        ReadOnlySpan<byte> after = descriptor[(ChecksumOffset + 2)..];
        if (superblock.HasMetadataCsum)
        {
            uint crc = ExtChecksums.Crc32C(superblock.CsumSeed, groupBytes);
            crc = ExtChecksums.Crc32C(crc, before);
            crc = ExtChecksums.Crc32C(crc, zero);
            crc = ExtChecksums.Crc32C(crc, after);
            return (ushort)crc;
        }
        ushort crc16 = ExtChecksums.Crc16(ushort.MaxValue, superblock.Uuid);
        crc16 = ExtChecksums.Crc16(crc16, groupBytes);
        crc16 = ExtChecksums.Crc16(crc16, before);
        return ExtChecksums.Crc16(crc16, after);
    }

    /// <summary>bg_block_bitmap_csum as the kernel computes it: crc32c(seed, the group's bitmap bytes), cut to 16
    /// bits when the descriptor has no room for the high half.</summary>
    public uint ComputeBlockBitmapCsum(ReadOnlySpan<byte> bitmap, uint seed)
    {
        uint crc = ExtChecksums.Crc32C(seed, bitmap);
        return HasFullBlockBitmapCsum ? crc : crc & 0xFFFF;
    }

    /// <summary>Clears EXT4_BG_INODE_ZEROED in the descriptor of <paramref name="group"/> and rewrites its bg_checksum,
    /// so that the kernel's lazy init zeroes the unused end of the group's inode table, as after
    /// <c>mke2fs -E lazy_itable_init=1</c>.</summary>
    public static void ClearInodeZeroed(Span<byte> descriptor, uint group, ExtSuperblock superblock)
    {
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[FlagsOffset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[FlagsOffset..], (ushort)(flags & ~FlagInodeZeroed));
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[ChecksumOffset..], ComputeChecksum(descriptor, group, superblock));
    }

    private static ulong Combine(ReadOnlySpan<byte> descriptor, int loOffset, int hiOffset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(descriptor[loOffset..])
        | (hiOffset < 0 ? 0 : (ulong)BinaryPrimitives.ReadUInt32LittleEndian(descriptor[hiOffset..]) << 32);
}
