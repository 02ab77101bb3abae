using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>The ext2/ext3/ext4 superblock: 1024 bytes at byte 1024 of the filesystem.</summary>
/// <remarks>Offsets from the kernel's Documentation/filesystems/ext4/super.rst (struct ext4_super_block).</remarks>
public readonly struct ExtSuperblock
{
    /// <summary>Byte offset of the superblock from the start of the filesystem, whatever the block size.</summary>
    public const int Offset = 1024;

    /// <summary>Size of the superblock in bytes.</summary>
    public const int Size = 1024;

    /// <summary>The value of s_magic.</summary>
    public const ushort Magic = 0xEF53;

    public const int InodesCountOffset = 0x00;      // s_inodes_count
    public const int BlocksCountLoOffset = 0x04;    // s_blocks_count_lo
    public const int FreeBlocksCountLoOffset = 0x0C; // s_free_blocks_count_lo
    public const int FirstDataBlockOffset = 0x14;   // s_first_data_block
    public const int LogBlockSizeOffset = 0x18;     // s_log_block_size: block size = 2 ^ (10 + value)
    public const int LogClusterSizeOffset = 0x1C;   // s_log_cluster_size (bigalloc; equals s_log_block_size otherwise)
    public const int BlocksPerGroupOffset = 0x20;   // s_blocks_per_group
    public const int ClustersPerGroupOffset = 0x24; // s_clusters_per_group
    public const int InodesPerGroupOffset = 0x28;   // s_inodes_per_group
    public const int MagicOffset = 0x38;            // s_magic
    public const int StateOffset = 0x3A;            // s_state: 1 = cleanly unmounted, 2 = errors detected
    public const int RevLevelOffset = 0x4C;         // s_rev_level: 0 = original, 1 = dynamic inode sizes
    public const int InodeSizeOffset = 0x58;        // s_inode_size (rev 1)
    public const int FeatureCompatOffset = 0x5C;    // s_feature_compat
    public const int FeatureIncompatOffset = 0x60;  // s_feature_incompat
    public const int FeatureRoCompatOffset = 0x64;  // s_feature_ro_compat
    public const int UuidOffset = 0x68;             // s_uuid[16]
    public const int VolumeNameOffset = 0x78;       // s_volume_name[16]
    public const int ReservedGdtBlocksOffset = 0xCE; // s_reserved_gdt_blocks (resize_inode)
    public const int DescSizeOffset = 0xFE;         // s_desc_size (64bit)
    public const int FirstMetaBgOffset = 0x104;     // s_first_meta_bg (meta_bg)
    public const int BlocksCountHiOffset = 0x150;   // s_blocks_count_hi (64bit)
    public const int FreeBlocksCountHiOffset = 0x158; // s_free_blocks_count_hi (64bit)
    public const int ChecksumTypeOffset = 0x175;    // s_checksum_type: 1 = crc32c
    public const int BackupBgsOffset = 0x24C;       // s_backup_bgs[2] (sparse_super2)
    public const int ChecksumSeedOffset = 0x270;    // s_checksum_seed (metadata_csum_seed)
    public const int ChecksumOffset = 0x3FC;        // s_checksum: crc32c of the bytes before it (metadata_csum)

    private const int UuidLength = 16;
    private const int VolumeNameLength = 16;
    private const ushort StateValid = 0x0001;       // EXT2_VALID_FS
    private const ushort StateError = 0x0002;       // EXT2_ERROR_FS
    private const uint MaxLogBlockSize = 6;         // 64 KiB blocks, the largest the kernel mounts
    private const uint MaxLogClusterSize = 19;      // e2fsprogs' EXT2_MAX_CLUSTER_LOG_SIZE (29) less 10
    private const int MinBlocksPerGroup = 8;        // e2fsprogs' ext2fs_open2 refuses fewer
    private const int GoodOldInodeSize = 128;
    private const int Desc32Size = 32;              // EXT2_MIN_DESC_SIZE
    private const int Desc64MinSize = 64;           // EXT2_MIN_DESC_SIZE_64BIT
    private const int DescMaxSize = 1024;           // EXT2_MAX_DESC_SIZE
    private const byte ChecksumTypeCrc32C = 1;

    /// <summary>The most block groups accepted: the used-block map's 2^32 blocks in groups of 256, the fewest blocks
    /// per group mke2fs makes. More can only be hostile, and each group costs a bitmap read.</summary>
    public const long MaxGroups = UsedBlockMap.MaxBlocks / 256;

    public uint InodesCount { get; private init; }
    public ulong BlocksCount { get; private init; }
    public ulong FreeBlocksCount { get; private init; }
    public uint FirstDataBlock { get; private init; }
    public uint LogBlockSize { get; private init; }
    public uint LogClusterSize { get; private init; }
    public uint BlocksPerGroup { get; private init; }
    public uint ClustersPerGroup { get; private init; }
    public uint InodesPerGroup { get; private init; }
    public ushort MagicValue { get; private init; }
    public ushort State { get; private init; }
    public uint RevLevel { get; private init; }
    public ushort InodeSizeField { get; private init; }
    public uint FeatureCompat { get; private init; }
    public uint FeatureIncompat { get; private init; }
    public uint FeatureRoCompat { get; private init; }
    public byte[] Uuid { get; private init; }
    public string? VolumeName { get; private init; }
    public ushort ReservedGdtBlocks { get; private init; }
    public ushort DescSizeField { get; private init; }
    public uint FirstMetaBg { get; private init; }
    public byte ChecksumType { get; private init; }
    public uint BackupBg0 { get; private init; }
    public uint BackupBg1 { get; private init; }
    public uint ChecksumSeed { get; private init; }
    public uint Checksum { get; private init; }

    /// <summary>crc32c of the superblock's bytes before s_checksum, as metadata_csum defines it.</summary>
    public uint ComputedChecksum { get; private init; }

    /// <summary>Parses the superblock from its 1024 bytes; <see cref="Validate"/> checks it.</summary>
    public static ExtSuperblock Parse(ReadOnlySpan<byte> superblock)
    {
        if (superblock.Length < Size)
        {
            throw new DiskFormatException("ext superblock", "length", superblock.Length, Offset,
                $"needs {Size} bytes");
        }
        uint incompat = ReadUInt32(superblock, FeatureIncompatOffset);
        bool is64Bit = (incompat & ExtFeatures.Incompat64Bit) != 0;
        ulong blocksHi = is64Bit ? ReadUInt32(superblock, BlocksCountHiOffset) : 0;
        ulong freeHi = is64Bit ? ReadUInt32(superblock, FreeBlocksCountHiOffset) : 0;
        return new ExtSuperblock
        {
            InodesCount = ReadUInt32(superblock, InodesCountOffset),
            BlocksCount = (blocksHi << 32) | ReadUInt32(superblock, BlocksCountLoOffset),
            FreeBlocksCount = (freeHi << 32) | ReadUInt32(superblock, FreeBlocksCountLoOffset),
            FirstDataBlock = ReadUInt32(superblock, FirstDataBlockOffset),
            LogBlockSize = ReadUInt32(superblock, LogBlockSizeOffset),
            LogClusterSize = ReadUInt32(superblock, LogClusterSizeOffset),
            BlocksPerGroup = ReadUInt32(superblock, BlocksPerGroupOffset),
            ClustersPerGroup = ReadUInt32(superblock, ClustersPerGroupOffset),
            InodesPerGroup = ReadUInt32(superblock, InodesPerGroupOffset),
            MagicValue = BinaryPrimitives.ReadUInt16LittleEndian(superblock[MagicOffset..]),
            State = BinaryPrimitives.ReadUInt16LittleEndian(superblock[StateOffset..]),
            RevLevel = ReadUInt32(superblock, RevLevelOffset),
            InodeSizeField = BinaryPrimitives.ReadUInt16LittleEndian(superblock[InodeSizeOffset..]),
            FeatureCompat = ReadUInt32(superblock, FeatureCompatOffset),
            FeatureIncompat = incompat,
            FeatureRoCompat = ReadUInt32(superblock, FeatureRoCompatOffset),
            Uuid = superblock.Slice(UuidOffset, UuidLength).ToArray(),
            VolumeName = ParseVolumeName(superblock.Slice(VolumeNameOffset, VolumeNameLength)),
            ReservedGdtBlocks = BinaryPrimitives.ReadUInt16LittleEndian(superblock[ReservedGdtBlocksOffset..]),
            DescSizeField = BinaryPrimitives.ReadUInt16LittleEndian(superblock[DescSizeOffset..]),
            FirstMetaBg = ReadUInt32(superblock, FirstMetaBgOffset),
            ChecksumType = superblock[ChecksumTypeOffset],
            BackupBg0 = ReadUInt32(superblock, BackupBgsOffset),
            BackupBg1 = ReadUInt32(superblock, BackupBgsOffset + 4),
            ChecksumSeed = ReadUInt32(superblock, ChecksumSeedOffset),
            Checksum = ReadUInt32(superblock, ChecksumOffset),
            ComputedChecksum = ExtChecksums.Crc32C(uint.MaxValue, superblock[..ChecksumOffset]),
        };
    }

    /// <summary>ext2, ext3 or ext4, as blkid names it.</summary>
    public FileSystemKind Kind => ExtFeatures.Classify(FeatureCompat, FeatureIncompat, FeatureRoCompat);

    /// <summary>"ext4 superblock", for messages.</summary>
    public string StructureName => $"{Kind.ToName()} superblock";

    /// <summary>The UUID as blkid prints it: 16 bytes in on-disk order, lowercase, 8-4-4-4-12.</summary>
    public string UuidText => new Guid(Uuid, bigEndian: true).ToString("D");

    public bool HasIncompat(uint feature) => (FeatureIncompat & feature) != 0;

    public bool HasRoCompat(uint feature) => (FeatureRoCompat & feature) != 0;

    public bool HasCompat(uint feature) => (FeatureCompat & feature) != 0;

    public bool IsBigalloc => HasRoCompat(ExtFeatures.RoCompatBigalloc);

    public bool IsMetaBg => HasIncompat(ExtFeatures.IncompatMetaBg);

    /// <summary>Descriptors carry crc32c checksums (metadata_csum), which supersede crc16 ones (gdt_csum).</summary>
    public bool HasMetadataCsum => HasRoCompat(ExtFeatures.RoCompatMetadataCsum);

    /// <summary>Descriptors carry a checksum of either kind, so BLOCK_UNINIT may be trusted (ext2fs_has_group_desc_csum).</summary>
    public bool HasGroupDescCsum => HasMetadataCsum || HasRoCompat(ExtFeatures.RoCompatGdtCsum);

    /// <summary>True when the superblock says the filesystem was cleanly unmounted and no error was recorded.</summary>
    public bool IsClean => (State & StateValid) != 0 && (State & StateError) == 0;

    public int BlockSize => 1024 << (int)LogBlockSize;

    public int ClusterSize => 1024 << (int)LogClusterSize;

    /// <summary>log2 of blocks per cluster; 0 without bigalloc.</summary>
    public int ClusterBits => (int)(LogClusterSize - LogBlockSize);

    public int InodeSize => RevLevel == 0 ? GoodOldInodeSize : InodeSizeField;

    public int DescriptorSize => HasIncompat(ExtFeatures.Incompat64Bit) ? DescSizeField : Desc32Size;

    public int DescriptorsPerBlock => BlockSize / DescriptorSize;

    public long GroupCount => (long)((BlocksCount - FirstDataBlock + BlocksPerGroup - 1) / BlocksPerGroup);

    public long DescriptorBlocks => (GroupCount + DescriptorsPerBlock - 1) / DescriptorsPerBlock;

    /// <summary>Blocks of one group's inode table.</summary>
    public long InodeTableBlocks => ((long)InodesPerGroup * InodeSize + BlockSize - 1) / BlockSize;

    /// <summary>Clusters the filesystem spans (blocks without bigalloc): the used-block map's length.</summary>
    public long ClusterCount => (long)((BlocksCount + (1UL << ClusterBits) - 1) >> ClusterBits);

    /// <summary>The block holding the primary superblock: block 1 with 1 KiB blocks, where block 0 is the boot block
    /// (also under bigalloc, where s_first_data_block is 0), else block 0.</summary>
    public long SuperblockBlock => BlockSize == 1024 ? 1 : 0;

    /// <summary>Seed of every metadata_csum checksum but the superblock's own.</summary>
    public uint CsumSeed => HasIncompat(ExtFeatures.IncompatCsumSeed)
        ? ChecksumSeed
        : ExtChecksums.Crc32C(uint.MaxValue, Uuid);

    /// <summary>Checks every field the used-block map relies on, for a filesystem in <paramref name="partitionBytes"/> bytes.</summary>
    public void Validate(long partitionBytes)
    {
        if (MagicValue != Magic)
        {
            Fail("s_magic", $"0x{MagicValue:X4}", MagicOffset, $"is not 0x{Magic:X4}");
        }
        if (HasMetadataCsum)
        {
            if (ChecksumType != ChecksumTypeCrc32C)
            {
                Fail("s_checksum_type", ChecksumType, ChecksumTypeOffset, "is not 1 (crc32c)");
            }
            if (Checksum != ComputedChecksum)
            {
                Fail("s_checksum", $"0x{Checksum:X8}", ChecksumOffset, $"does not match the computed 0x{ComputedChecksum:X8}");
            }
        }
        if (LogBlockSize > MaxLogBlockSize)
        {
            Fail("s_log_block_size", LogBlockSize, LogBlockSizeOffset, $"must be 0..{MaxLogBlockSize} (1 KiB to 64 KiB blocks)");
        }
        if (IsBigalloc ? LogClusterSize < LogBlockSize || LogClusterSize > MaxLogClusterSize : LogClusterSize != LogBlockSize)
        {
            Fail("s_log_cluster_size", LogClusterSize, LogClusterSizeOffset, IsBigalloc
                ? $"must be {LogBlockSize}..{MaxLogClusterSize} with bigalloc"
                : $"must equal s_log_block_size ({LogBlockSize}) without bigalloc");
        }
        if (RevLevel > 1)
        {
            Fail("s_rev_level", RevLevel, RevLevelOffset, "must be 0 or 1");
        }
        if (InodeSize < GoodOldInodeSize || InodeSize > BlockSize || (InodeSize & (InodeSize - 1)) != 0)
        {
            Fail("s_inode_size", InodeSize, InodeSizeOffset, $"must be a power of two in {GoodOldInodeSize}..{BlockSize}");
        }
        long bitsPerBitmap = 8L * BlockSize;
        if (ClustersPerGroup == 0 || ClustersPerGroup > bitsPerBitmap)
        {
            Fail("s_clusters_per_group", ClustersPerGroup, ClustersPerGroupOffset, $"must be 1..{bitsPerBitmap}: one bitmap block's bits");
        }
        if (BlocksPerGroup < MinBlocksPerGroup || BlocksPerGroup != (ulong)ClustersPerGroup << ClusterBits)
        {
            Fail("s_blocks_per_group", BlocksPerGroup, BlocksPerGroupOffset,
                $"must be at least {MinBlocksPerGroup} and equal s_clusters_per_group ({ClustersPerGroup}) times the {1 << ClusterBits} block(s) per cluster");
        }
        if (InodesPerGroup == 0 || InodesPerGroup > bitsPerBitmap)
        {
            Fail("s_inodes_per_group", InodesPerGroup, InodesPerGroupOffset, $"must be 1..{bitsPerBitmap}: one bitmap block's bits");
        }
        uint expectedFirstDataBlock = BlockSize == 1024 && !IsBigalloc ? 1u : 0u;
        if (FirstDataBlock != expectedFirstDataBlock)
        {
            Fail("s_first_data_block", FirstDataBlock, FirstDataBlockOffset,
                $"must be {expectedFirstDataBlock} for {BlockSize}-byte blocks{(IsBigalloc ? " with bigalloc" : string.Empty)}");
        }
        long partitionBlocks = partitionBytes / BlockSize;
        if (BlocksCount <= FirstDataBlock || BlocksCount > (ulong)partitionBlocks)
        {
            Fail("s_blocks_count", BlocksCount, BlocksCountLoOffset,
                $"must be {FirstDataBlock + 1}..{partitionBlocks}: the partition holds {partitionBytes} bytes");
        }
        if (GroupCount > MaxGroups)
        {
            Fail("s_blocks_per_group", BlocksPerGroup, BlocksPerGroupOffset, $"makes {GroupCount} groups, more than {MaxGroups}");
        }
        if ((ulong)GroupCount * InodesPerGroup != InodesCount)
        {
            Fail("s_inodes_count", InodesCount, InodesCountOffset,
                $"is not {GroupCount} groups times {InodesPerGroup} inodes per group");
        }
        if (HasIncompat(ExtFeatures.Incompat64Bit)
            && (DescSizeField < Desc64MinSize || DescSizeField > DescMaxSize || (DescSizeField & (DescSizeField - 1)) != 0))
        {
            Fail("s_desc_size", DescSizeField, DescSizeOffset, $"must be a power of two in {Desc64MinSize}..{DescMaxSize} with 64bit");
        }
        if (IsMetaBg && FirstMetaBg > DescriptorBlocks)
        {
            Fail("s_first_meta_bg", FirstMetaBg, FirstMetaBgOffset, $"exceeds the {DescriptorBlocks} descriptor blocks");
        }
    }

    /// <summary>Throws the domain exception for a bad field at <paramref name="fieldOffset"/> within the superblock.</summary>
    [DoesNotReturn]
    public void Fail(string field, object value, int fieldOffset, string problem) =>
        throw new DiskFormatException(StructureName, field, value, Offset + fieldOffset, problem);

    private static uint ReadUInt32(ReadOnlySpan<byte> superblock, int offset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(superblock[offset..]);

    private static string? ParseVolumeName(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        string name = Encoding.UTF8.GetString(end < 0 ? field : field[..end]).TrimEnd();
        return name.Length == 0 ? null : name;
    }
}
