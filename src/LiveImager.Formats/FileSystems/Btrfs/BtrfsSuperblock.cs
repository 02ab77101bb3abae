using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Text;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>The btrfs superblock: 4096 bytes at 64 KiB, with copies at 64 MiB and 256 GiB when the device is that large.</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h (struct btrfs_super_block) and the btrfs
/// documentation's "On-disk format" page.</remarks>
public readonly struct BtrfsSuperblock
{
    /// <summary>Byte offset of the primary superblock from the start of the device.</summary>
    public const int Offset = 0x10000;

    /// <summary>Size of the superblock (BTRFS_SUPER_INFO_SIZE).</summary>
    public const int Size = 0x1000;

    /// <summary>"_BHRfS_M" read as a little-endian 64-bit number (BTRFS_MAGIC).</summary>
    public const ulong Magic = 0x4D5F53665248425F;

    /// <summary>Where the superblock and its mirrors live: btrfs_sb_offset() for mirrors 0, 1 and 2.</summary>
    public static readonly long[] MirrorOffsets = [Offset, 64L << 20, 256L << 30];

    public const int CsumOffset = 0x00;              // csum[32]: over bytes 0x20..0x1000
    public const int FsidOffset = 0x20;              // fsid[16]: the UUID blkid prints
    public const int BytenrOffset = 0x30;            // bytenr: this copy's own physical offset
    public const int FlagsOffset = 0x38;             // flags (BTRFS_SUPER_FLAG_*)
    public const int MagicOffset = 0x40;             // magic
    public const int GenerationOffset = 0x48;        // generation: the last committed transaction
    public const int RootOffset = 0x50;              // root: logical address of the root tree's root node
    public const int ChunkRootOffset = 0x58;         // chunk_root: logical address of the chunk tree's root node
    public const int LogRootOffset = 0x60;           // log_root: the tree log to replay on mount, or 0
    public const int TotalBytesOffset = 0x70;        // total_bytes: all devices' sizes
    public const int BytesUsedOffset = 0x78;         // bytes_used: the sum of the block groups' used bytes
    public const int NumDevicesOffset = 0x88;        // num_devices
    public const int SectorSizeOffset = 0x90;        // sectorsize: the allocation unit of data
    public const int NodeSizeOffset = 0x94;          // nodesize: the size of a tree block
    public const int SysChunkArraySizeOffset = 0xA0; // sys_chunk_array_size
    public const int ChunkRootGenerationOffset = 0xA4; // chunk_root_generation
    public const int CompatFlagsOffset = 0xAC;       // compat_flags
    public const int CompatRoFlagsOffset = 0xB4;     // compat_ro_flags
    public const int IncompatFlagsOffset = 0xBC;     // incompat_flags
    public const int CsumTypeOffset = 0xC4;          // csum_type (enum btrfs_csum_type)
    public const int RootLevelOffset = 0xC6;         // root_level
    public const int ChunkRootLevelOffset = 0xC7;    // chunk_root_level
    public const int DevItemOffset = 0xC9;           // dev_item: this device (struct btrfs_dev_item)
    public const int LabelOffset = 0x12B;            // label[256]
    public const int MetadataUuidOffset = 0x23B;     // metadata_uuid[16] (incompat METADATA_UUID)
    public const int SysChunkArrayOffset = 0x32B;    // sys_chunk_array[2048]: the system chunks, to read the chunk tree

    /// <summary>Size of sys_chunk_array (BTRFS_SYSTEM_CHUNK_ARRAY_SIZE).</summary>
    public const int SysChunkArrayMax = 0x800;

    /// <summary>Levels run 0 (leaf) to BTRFS_MAX_LEVEL - 1.</summary>
    public const int MaxLevel = 7;

    private const int UuidLength = 16;
    private const int LabelLength = 256;
    private const int MinSectorSize = 4096;
    private const int MaxNodeSize = 65536;           // BTRFS_MAX_METADATA_BLOCKSIZE
    private const string Structure = "btrfs superblock";

    public byte[] Fsid { get; private init; }
    public ulong Bytenr { get; private init; }
    public ulong Flags { get; private init; }
    public ulong MagicValue { get; private init; }
    public ulong Generation { get; private init; }
    public ulong Root { get; private init; }
    public ulong ChunkRoot { get; private init; }
    public ulong LogRoot { get; private init; }
    public ulong TotalBytes { get; private init; }
    public ulong BytesUsed { get; private init; }
    public ulong NumDevices { get; private init; }
    public uint SectorSize { get; private init; }
    public uint NodeSize { get; private init; }
    public uint SysChunkArraySize { get; private init; }
    public ulong ChunkRootGeneration { get; private init; }
    public ulong CompatRoFlags { get; private init; }
    public ulong IncompatFlags { get; private init; }
    public ushort CsumType { get; private init; }
    public byte RootLevel { get; private init; }
    public byte ChunkRootLevel { get; private init; }
    public BtrfsDevItem DevItem { get; private init; }
    public string? Label { get; private init; }
    public byte[] MetadataUuid { get; private init; }
    public byte[] SysChunkArray { get; private init; }

    /// <summary>Parses the superblock from its 4096 bytes; <see cref="Validate"/> checks it.</summary>
    public static BtrfsSuperblock Parse(ReadOnlySpan<byte> superblock)
    {
        if (superblock.Length < Size)
        {
            throw new DiskFormatException(Structure, "length", superblock.Length, Offset, $"needs {Size} bytes");
        }
        return new BtrfsSuperblock
        {
            Fsid = superblock.Slice(FsidOffset, UuidLength).ToArray(),
            Bytenr = ReadUInt64(superblock, BytenrOffset),
            Flags = ReadUInt64(superblock, FlagsOffset),
            MagicValue = ReadUInt64(superblock, MagicOffset),
            Generation = ReadUInt64(superblock, GenerationOffset),
            Root = ReadUInt64(superblock, RootOffset),
            ChunkRoot = ReadUInt64(superblock, ChunkRootOffset),
            LogRoot = ReadUInt64(superblock, LogRootOffset),
            TotalBytes = ReadUInt64(superblock, TotalBytesOffset),
            BytesUsed = ReadUInt64(superblock, BytesUsedOffset),
            NumDevices = ReadUInt64(superblock, NumDevicesOffset),
            SectorSize = BinaryPrimitives.ReadUInt32LittleEndian(superblock[SectorSizeOffset..]),
            NodeSize = BinaryPrimitives.ReadUInt32LittleEndian(superblock[NodeSizeOffset..]),
            SysChunkArraySize = BinaryPrimitives.ReadUInt32LittleEndian(superblock[SysChunkArraySizeOffset..]),
            ChunkRootGeneration = ReadUInt64(superblock, ChunkRootGenerationOffset),
            CompatRoFlags = ReadUInt64(superblock, CompatRoFlagsOffset),
            IncompatFlags = ReadUInt64(superblock, IncompatFlagsOffset),
            CsumType = BinaryPrimitives.ReadUInt16LittleEndian(superblock[CsumTypeOffset..]),
            RootLevel = superblock[RootLevelOffset],
            ChunkRootLevel = superblock[ChunkRootLevelOffset],
            DevItem = BtrfsDevItem.Parse(superblock.Slice(DevItemOffset, BtrfsDevItem.Size)),
            Label = ParseLabel(superblock.Slice(LabelOffset, LabelLength)),
            MetadataUuid = superblock.Slice(MetadataUuidOffset, UuidLength).ToArray(),
            SysChunkArray = superblock.Slice(SysChunkArrayOffset, SysChunkArrayMax).ToArray(),
        };
    }

    /// <summary>True when <paramref name="head"/> (a partition's first bytes) holds the magic at the primary superblock.</summary>
    public static bool HasSignature(ReadOnlySpan<byte> head) =>
        head.Length >= Offset + Size && ReadUInt64(head, Offset + MagicOffset) == Magic;

    /// <summary>The UUID as blkid and btrfs-progs print it: 16 bytes in on-disk order, lowercase, 8-4-4-4-12.</summary>
    public string FsidText => new Guid(Fsid, bigEndian: true).ToString("D");

    /// <summary>The UUID every tree block header carries: metadata_uuid when that feature is on, else the fsid.</summary>
    public byte[] TreeBlockFsid => (IncompatFlags & BtrfsFeatures.IncompatMetadataUuid) != 0 ? MetadataUuid : Fsid;

    /// <summary>Checks every field the used-block map relies on, for a filesystem in <paramref name="partitionBytes"/>
    /// bytes whose 4096 superblock bytes are <paramref name="raw"/>. The checksum type must be one
    /// <see cref="BtrfsChecksum.IsChecked"/>.</summary>
    public void Validate(ReadOnlySpan<byte> raw, long partitionBytes)
    {
        if (MagicValue != Magic)
        {
            Fail("magic", $"0x{MagicValue:X16}", MagicOffset, $"is not 0x{Magic:X16} (\"_BHRfS_M\")");
        }
        if (!BtrfsChecksum.Verify(CsumType, raw, out string stored, out string computed))
        {
            Fail("csum", stored, CsumOffset, $"does not match the computed {BtrfsChecksum.Name(CsumType)} {computed}");
        }
        if (Bytenr != Offset)
        {
            Fail("bytenr", Bytenr, BytenrOffset, $"is not {Offset}, where the primary superblock lies");
        }
        if (SectorSize < MinSectorSize || SectorSize > MaxNodeSize || !BitOperations.IsPow2(SectorSize))
        {
            Fail("sectorsize", SectorSize, SectorSizeOffset, $"must be a power of two in {MinSectorSize}..{MaxNodeSize}");
        }
        if (NodeSize < SectorSize || NodeSize > MaxNodeSize || !BitOperations.IsPow2(NodeSize))
        {
            Fail("nodesize", NodeSize, NodeSizeOffset, $"must be a power of two in sectorsize ({SectorSize})..{MaxNodeSize}");
        }
        if (SysChunkArraySize > SysChunkArrayMax)
        {
            Fail("sys_chunk_array_size", SysChunkArraySize, SysChunkArraySizeOffset, $"exceeds the array's {SysChunkArrayMax} bytes");
        }
        if (RootLevel > MaxLevel)
        {
            Fail("root_level", RootLevel, RootLevelOffset, $"must be 0..{MaxLevel}");
        }
        if (ChunkRootLevel > MaxLevel)
        {
            Fail("chunk_root_level", ChunkRootLevel, ChunkRootLevelOffset, $"must be 0..{MaxLevel}");
        }
        if (Root % SectorSize != 0 || Root == 0)
        {
            Fail("root", Root, RootOffset, $"must be a non-zero multiple of sectorsize ({SectorSize})");
        }
        if (ChunkRoot % SectorSize != 0 || ChunkRoot == 0)
        {
            Fail("chunk_root", ChunkRoot, ChunkRootOffset, $"must be a non-zero multiple of sectorsize ({SectorSize})");
        }
        if (DevItem.TotalBytes > (ulong)partitionBytes || DevItem.TotalBytes < (ulong)(Offset + Size))
        {
            Fail("dev_item.total_bytes", DevItem.TotalBytes, DevItemOffset + BtrfsDevItem.TotalBytesOffset,
                $"must be {Offset + Size}..{partitionBytes}: the partition holds {partitionBytes} bytes");
        }
        if (TotalBytes != DevItem.TotalBytes)
        {
            Fail("total_bytes", TotalBytes, TotalBytesOffset,
                $"is not the single device's dev_item.total_bytes ({DevItem.TotalBytes})");
        }
        if (!DevItem.Fsid.AsSpan().SequenceEqual(TreeBlockFsid))
        {
            Fail("dev_item.fsid", Convert.ToHexString(DevItem.Fsid), DevItemOffset + BtrfsDevItem.FsidOffset,
                $"is not the filesystem's {((IncompatFlags & BtrfsFeatures.IncompatMetadataUuid) != 0 ? "metadata_uuid" : "fsid")} "
                + Convert.ToHexString(TreeBlockFsid));
        }
    }

    /// <summary>Throws the domain exception for a bad field at <paramref name="fieldOffset"/> within the superblock.</summary>
    [DoesNotReturn]
    public static void Fail(string field, object value, int fieldOffset, string problem) =>
        throw new DiskFormatException(Structure, field, value, Offset + fieldOffset, problem);

    private static ulong ReadUInt64(ReadOnlySpan<byte> bytes, int offset) =>
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[offset..]);

    private static string? ParseLabel(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        string label = Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
        return label.Length == 0 ? null : label;
    }
}
