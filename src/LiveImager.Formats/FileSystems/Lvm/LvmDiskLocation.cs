using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>One area of a physical volume (<c>struct disk_locn</c>, lvm2 lib/format_text/layout.h): a byte offset from
/// the PV's start and a size in bytes (0 for a data area that runs to the end of the device).</summary>
public readonly record struct LvmDiskLocation(ulong Offset, ulong Size)
{
    /// <summary>Bytes one disk_locn takes on disk.</summary>
    public const int Length = 16;

    private const int OffsetOffset = 0x00; // disk_locn uint64_t offset
    private const int SizeOffset = 0x08;   // disk_locn uint64_t size

    /// <summary>True for the all-zero entry that ends a list of areas.</summary>
    public bool IsTerminator => Offset == 0 && Size == 0;

    public static LvmDiskLocation Parse(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(bytes[OffsetOffset..]), BinaryPrimitives.ReadUInt64LittleEndian(bytes[SizeOffset..]));
}
