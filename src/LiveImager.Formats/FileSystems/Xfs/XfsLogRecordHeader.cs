using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>A log record header: the first 512-byte basic block of every record written to the XFS log, big-endian.</summary>
/// <remarks>Offsets from libxfs xfs_log_format.h (struct xlog_rec_header, struct xlog_op_header) and the XFS
/// Algorithms &amp; Data Structures book, "Journaling Log". Every other basic block of a record has its first word
/// replaced by the record's cycle number, so the first word of any basic block in the log is either this header's
/// magic or a cycle number.</remarks>
public readonly struct XfsLogRecordHeader
{
    /// <summary>h_magicno (XLOG_HEADER_MAGIC_NUM).</summary>
    public const uint Magic = 0xFEEDBABE;

    /// <summary>The log's unit of addressing (BBSIZE).</summary>
    public const int BasicBlockSize = 512;

    public const int MagicOffset = 0x00;        // h_magicno
    public const int CycleOffset = 0x04;        // h_cycle
    public const int VersionOffset = 0x08;      // h_version: 1, or 2 for v2 logs
    public const int LengthOffset = 0x0C;       // h_len: bytes of record data after the header
    public const int OperationCountOffset = 0x28; // h_num_logops
    public const int RecordSizeOffset = 0x140;  // h_size: the in-core log buffer size (v2)

    /// <summary>oh_flags in the operation header (struct xlog_op_header: tid, len, clientid, flags).</summary>
    public const int OperationFlagsOffset = 0x09;

    /// <summary>XLOG_UNMOUNT_TRANS: the operation is the unmount record a clean unmount writes last.</summary>
    public const byte UnmountFlag = 0x20;

    /// <summary>XLOG_HEADER_CYCLE_SIZE: one header basic block describes this many bytes of record data; a v2 log with
    /// larger buffers spreads its header over more blocks.</summary>
    private const int HeaderCycleSize = 32 * 1024;

    /// <summary>The largest in-core log buffer (XLOG_MAX_RECORD_BSIZE, 256 KiB).</summary>
    public const int MaxRecordSize = 256 * 1024;

    public uint Cycle { get; init; }
    public uint Version { get; init; }
    public uint Length { get; init; }
    public uint OperationCount { get; init; }
    public uint RecordSize { get; init; }

    /// <summary>The cycle number stamped in the first word of basic block <paramref name="block"/>: the header's
    /// h_cycle when the block starts a record.</summary>
    public static uint CycleOf(ReadOnlySpan<byte> block)
    {
        uint first = BinaryPrimitives.ReadUInt32BigEndian(block);
        return first == Magic ? BinaryPrimitives.ReadUInt32BigEndian(block[CycleOffset..]) : first;
    }

    /// <summary>True when the basic block starts a record.</summary>
    public static bool IsHeader(ReadOnlySpan<byte> block) => BinaryPrimitives.ReadUInt32BigEndian(block) == Magic;

    public static XfsLogRecordHeader Parse(ReadOnlySpan<byte> block) => new()
    {
        Cycle = BinaryPrimitives.ReadUInt32BigEndian(block[CycleOffset..]),
        Version = BinaryPrimitives.ReadUInt32BigEndian(block[VersionOffset..]),
        Length = BinaryPrimitives.ReadUInt32BigEndian(block[LengthOffset..]),
        OperationCount = BinaryPrimitives.ReadUInt32BigEndian(block[OperationCountOffset..]),
        RecordSize = BinaryPrimitives.ReadUInt32BigEndian(block[RecordSizeOffset..]),
    };

    /// <summary>Basic blocks the header takes: one, or h_size / 32 KiB rounded up for a v2 log with large buffers
    /// (as xlog_find_tail computes hblks).</summary>
    public int HeaderBlocks => (Version & 2) != 0 && RecordSize > HeaderCycleSize
        ? (int)((Math.Min(RecordSize, MaxRecordSize) + HeaderCycleSize - 1) / HeaderCycleSize)
        : 1;
}
