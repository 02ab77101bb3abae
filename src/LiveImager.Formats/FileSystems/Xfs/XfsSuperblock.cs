using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Text;

namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>The XFS superblock: the first sector of allocation group 0, big-endian.</summary>
/// <remarks>Offsets from xfsprogs' libxfs/xfs_format.h (struct xfs_dsb) and the XFS Algorithms &amp; Data Structures
/// book, "Superblocks". Version 4 ends at sb_bad_features2; version 5 adds the feature words and a crc32c.</remarks>
public readonly struct XfsSuperblock
{
    /// <summary>"XFSB" in sb_magicnum.</summary>
    public const uint Magic = 0x58465342;

    /// <summary>Bytes parsed: the v5 superblock ends at 0x108; the rest of the sector is zero.</summary>
    public const int Size = 0x108;

    public const int MagicOffset = 0x00;            // sb_magicnum
    public const int BlockSizeOffset = 0x04;        // sb_blocksize
    public const int DataBlocksOffset = 0x08;       // sb_dblocks: blocks of the data section
    public const int RealtimeBlocksOffset = 0x10;   // sb_rblocks: blocks of the realtime device
    public const int UuidOffset = 0x20;             // sb_uuid[16]
    public const int LogStartOffset = 0x30;         // sb_logstart: first log block (an fsblock number), 0 = external log
    public const int AgBlocksOffset = 0x54;         // sb_agblocks: blocks per allocation group
    public const int AgCountOffset = 0x58;          // sb_agcount
    public const int LogBlocksOffset = 0x60;        // sb_logblocks
    public const int VersionOffset = 0x64;          // sb_versionnum: low nibble is the version, the rest feature bits
    public const int SectorSizeOffset = 0x66;       // sb_sectsize
    public const int NameOffset = 0x6C;             // sb_fname[12]: the label
    public const int BlockLogOffset = 0x78;         // sb_blocklog
    public const int SectorLogOffset = 0x79;        // sb_sectlog
    public const int AgBlockLogOffset = 0x7C;       // sb_agblklog: log2 of sb_agblocks rounded up
    public const int InProgressOffset = 0x7E;       // sb_inprogress: mkfs has not finished
    public const int FreeDataBlocksOffset = 0x90;   // sb_fdblocks
    public const int Features2Offset = 0xC8;        // sb_features2 (with XFS_SB_VERSION_MOREBITSBIT)
    public const int FeaturesRoCompatOffset = 0xD4; // sb_features_ro_compat (v5)
    public const int FeaturesIncompatOffset = 0xD8; // sb_features_incompat (v5)
    public const int FeaturesLogIncompatOffset = 0xDC; // sb_features_log_incompat (v5)
    public const int ChecksumOffset = 0xE0;         // sb_crc (v5): crc32c of the sector, little-endian
    public const int MetaUuidOffset = 0xF8;         // sb_meta_uuid[16] (v5, with the META_UUID incompat feature)

    private const int UuidLength = 16;
    private const int NameLength = 12;
    private const ushort VersionNumberMask = 0x000F;   // XFS_SB_VERSION_NUMBITS
    private const ushort VersionMoreBits = 0x8000;     // XFS_SB_VERSION_MOREBITSBIT: sb_features2 is valid
    private const uint Features2LazySbCount = 0x0002;  // XFS_SB_VERSION2_LAZYSBCOUNTBIT
    private const int MinBlockLog = 9;                 // XFS_MIN_BLOCKSIZE_LOG
    private const int MaxBlockLog = 16;                // XFS_MAX_BLOCKSIZE_LOG
    private const int MinSectorLog = 9;                // XFS_MIN_SECTORSIZE_LOG
    private const int MaxSectorLog = 15;               // XFS_MAX_SECTORSIZE_LOG
    private const uint MinAgBlocks = 64;               // XFS_MIN_AG_BLOCKS
    private const long MaxAgBytes = 1L << 40;          // XFS_MAX_AG_BYTES: 1 TiB

    /// <summary>Where the superblock was read, for messages: the start of the filesystem.</summary>
    public const long Offset = 0;

    private const string StructureName = "xfs superblock";

    public uint MagicValue { get; init; }
    public uint BlockSize { get; init; }
    public ulong DataBlocks { get; init; }
    public ulong RealtimeBlocks { get; init; }
    public byte[] Uuid { get; init; }
    public byte[] MetaUuid { get; init; }
    public ulong LogStart { get; init; }
    public uint AgBlocks { get; init; }
    public uint AgCount { get; init; }
    public uint LogBlocks { get; init; }
    public ushort VersionNumber { get; init; }
    public ushort SectorSize { get; init; }
    public string? Name { get; init; }
    public byte BlockLog { get; init; }
    public byte SectorLog { get; init; }
    public byte AgBlockLog { get; init; }
    public byte InProgress { get; init; }
    public ulong FreeDataBlocks { get; init; }
    public uint Features2 { get; init; }
    public uint FeaturesRoCompat { get; init; }
    public uint FeaturesIncompat { get; init; }
    public uint FeaturesLogIncompat { get; init; }
    public uint Checksum { get; init; }

    /// <summary>The crc32c computed over the sector as read, for v5.</summary>
    public uint ComputedChecksum { get; init; }

    /// <summary>4 or 5: version 5 has CRCs on every metadata block.</summary>
    public int Version => VersionNumber & VersionNumberMask;

    public bool HasCrc => Version == 5;

    /// <summary>True when the free counts in the superblock are only written at unmount (always on v5).</summary>
    public bool HasLazySbCount =>
        HasCrc || ((VersionNumber & VersionMoreBits) != 0 && (Features2 & Features2LazySbCount) != 0);

    /// <summary>The UUID the v5 metadata blocks carry: sb_meta_uuid when META_UUID is set, sb_uuid otherwise.</summary>
    public byte[] MetadataUuid => (FeaturesIncompat & XfsFeatures.IncompatMetaUuid) != 0 ? MetaUuid : Uuid;

    /// <summary>The UUID as blkid and xfs_admin print it.</summary>
    public string UuidText => new Guid(Uuid, bigEndian: true).ToString("D");

    /// <summary>Blocks in allocation group <paramref name="agNumber"/>: sb_agblocks except the last, which is cut at sb_dblocks.</summary>
    public uint AgLength(uint agNumber) =>
        agNumber < AgCount - 1 ? AgBlocks : (uint)(DataBlocks - (ulong)(AgCount - 1) * AgBlocks);

    /// <summary>The filesystem-wide block number of block <paramref name="agBlock"/> of group <paramref name="agNumber"/>.</summary>
    /// <remarks>64-bit on purpose: agno × agblocks passes 2^32 above 16 TiB at 4 KiB blocks, where partclone's 32-bit
    /// product wrapped round and marked the wrong blocks.</remarks>
    public long LinearBlock(uint agNumber, uint agBlock) => (long)agNumber * AgBlocks + agBlock;

    /// <summary>Byte offset from the start of the filesystem of block <paramref name="agBlock"/> of group <paramref name="agNumber"/>.</summary>
    public long ByteOffset(uint agNumber, uint agBlock) => LinearBlock(agNumber, agBlock) * BlockSize;

    /// <summary>Splits an fsblock number (sb_logstart, inode extents: AG number above sb_agblklog bits, AG block
    /// below) into its group and block.</summary>
    public (ulong AgNumber, ulong AgBlock) SplitFsBlock(ulong fsBlock) =>
        (fsBlock >> AgBlockLog, fsBlock & ((1UL << AgBlockLog) - 1));

    /// <summary>Parses the first <see cref="SectorSize"/> bytes of the filesystem (at least <see cref="Size"/>).</summary>
    public static XfsSuperblock Parse(ReadOnlySpan<byte> sector)
    {
        if (sector.Length < Size)
        {
            throw new DiskFormatException(StructureName, "length", sector.Length, Offset, $"needs {Size} bytes");
        }
        ushort version = BinaryPrimitives.ReadUInt16BigEndian(sector[VersionOffset..]);
        bool v5 = (version & VersionNumberMask) == 5;
        return new XfsSuperblock
        {
            MagicValue = ReadUInt32(sector, MagicOffset),
            BlockSize = ReadUInt32(sector, BlockSizeOffset),
            DataBlocks = BinaryPrimitives.ReadUInt64BigEndian(sector[DataBlocksOffset..]),
            RealtimeBlocks = BinaryPrimitives.ReadUInt64BigEndian(sector[RealtimeBlocksOffset..]),
            Uuid = sector.Slice(UuidOffset, UuidLength).ToArray(),
            MetaUuid = sector.Slice(MetaUuidOffset, UuidLength).ToArray(),
            LogStart = BinaryPrimitives.ReadUInt64BigEndian(sector[LogStartOffset..]),
            AgBlocks = ReadUInt32(sector, AgBlocksOffset),
            AgCount = ReadUInt32(sector, AgCountOffset),
            LogBlocks = ReadUInt32(sector, LogBlocksOffset),
            VersionNumber = version,
            SectorSize = BinaryPrimitives.ReadUInt16BigEndian(sector[SectorSizeOffset..]),
            Name = ParseName(sector.Slice(NameOffset, NameLength)),
            BlockLog = sector[BlockLogOffset],
            SectorLog = sector[SectorLogOffset],
            AgBlockLog = sector[AgBlockLogOffset],
            InProgress = sector[InProgressOffset],
            FreeDataBlocks = BinaryPrimitives.ReadUInt64BigEndian(sector[FreeDataBlocksOffset..]),
            Features2 = ReadUInt32(sector, Features2Offset),
            // The v5 words are garbage-free zeros on v4 only by convention; read them only when they mean something.
            FeaturesRoCompat = v5 ? ReadUInt32(sector, FeaturesRoCompatOffset) : 0,
            FeaturesIncompat = v5 ? ReadUInt32(sector, FeaturesIncompatOffset) : 0,
            FeaturesLogIncompat = v5 ? ReadUInt32(sector, FeaturesLogIncompatOffset) : 0,
            Checksum = BinaryPrimitives.ReadUInt32LittleEndian(sector[ChecksumOffset..]),
            ComputedChecksum = v5 ? XfsChecksum.Compute(sector, ChecksumOffset) : 0,
        };
    }

    /// <summary>Checks what must hold before the superblock's geometry drives any read: the version, the crc (v5),
    /// and a geometry that fits the partition.</summary>
    public void Validate(long partitionBytes)
    {
        if (MagicValue != Magic)
        {
            Fail("sb_magicnum", $"0x{MagicValue:X8}", MagicOffset, $"is not 0x{Magic:X8} (\"XFSB\")");
        }
        if (Version is not (4 or 5))
        {
            Fail("sb_versionnum", $"0x{VersionNumber:X4}", VersionOffset, "is neither version 4 nor version 5");
        }
        if (HasCrc && Checksum != ComputedChecksum)
        {
            Fail("sb_crc", $"0x{Checksum:X8}", ChecksumOffset, $"does not match the computed 0x{ComputedChecksum:X8}");
        }
        if (BlockSize < 1u << MinBlockLog || BlockSize > 1u << MaxBlockLog || !BitOperations.IsPow2(BlockSize)
            || BlockSize != 1u << BlockLog)
        {
            Fail("sb_blocksize", BlockSize, BlockSizeOffset,
                $"must be a power of two in {1 << MinBlockLog}..{1 << MaxBlockLog} matching sb_blocklog {BlockLog}");
        }
        if (SectorSize < 1 << MinSectorLog || SectorSize > 1 << MaxSectorLog || !BitOperations.IsPow2(SectorSize)
            || SectorSize != 1 << SectorLog || SectorSize > BlockSize)
        {
            Fail("sb_sectsize", SectorSize, SectorSizeOffset,
                $"must be a power of two in {1 << MinSectorLog}..{1 << MaxSectorLog}, at most the block size, matching sb_sectlog {SectorLog}");
        }
        if (AgBlocks < MinAgBlocks || (long)AgBlocks * BlockSize > MaxAgBytes)
        {
            Fail("sb_agblocks", AgBlocks, AgBlocksOffset, $"must be {MinAgBlocks} blocks to 1 TiB");
        }
        if (AgBlockLog != BitOperations.Log2(BitOperations.RoundUpToPowerOf2(AgBlocks)))
        {
            Fail("sb_agblklog", AgBlockLog, AgBlockLogOffset, $"is not log2 of sb_agblocks {AgBlocks} rounded up");
        }
        if (DataBlocks == 0 || DataBlocks > (ulong)(partitionBytes / BlockSize))
        {
            Fail("sb_dblocks", DataBlocks, DataBlocksOffset,
                $"does not fit the {partitionBytes}-byte partition at {BlockSize}-byte blocks");
        }
        // Bounded by sb_dblocks, itself bounded by the partition: agcount cannot drive more reads than the disk has AGs.
        ulong fullGroups = (ulong)(AgCount - 1) * AgBlocks;
        if (AgCount == 0 || DataBlocks < fullGroups + MinAgBlocks || DataBlocks > (ulong)AgCount * AgBlocks)
        {
            Fail("sb_agcount", AgCount, AgCountOffset,
                $"does not agree with sb_dblocks {DataBlocks} at {AgBlocks} blocks per group (the last group must hold {MinAgBlocks} to {AgBlocks})");
        }
    }

    /// <summary>Throws the domain exception for a bad field at <paramref name="fieldOffset"/> within the superblock.</summary>
    [DoesNotReturn]
    public static void Fail(string field, object value, int fieldOffset, string problem) =>
        throw new DiskFormatException(StructureName, field, value, Offset + fieldOffset, problem);

    private static uint ReadUInt32(ReadOnlySpan<byte> sector, int offset) =>
        BinaryPrimitives.ReadUInt32BigEndian(sector[offset..]);

    private static string? ParseName(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        string name = Encoding.UTF8.GetString(end < 0 ? field : field[..end]).TrimEnd();
        return name.Length == 0 ? null : name;
    }
}
