using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>The update sequence ("fixups") of multi-sector NTFS structures: MFT records, index blocks, log pages.</summary>
/// <remarks>The last two bytes of every 512-byte stride are on disk replaced by the update sequence number, the real
/// bytes kept in the update sequence array; a stride whose last bytes do not match was torn by an interrupted write
/// (ntfs-3g mst.c). Header offsets from ntfs-3g's <c>NTFS_RECORD</c>.</remarks>
public static class NtfsUpdateSequence
{
    /// <summary>The unit of the update sequence (NTFS_BLOCK_SIZE), whatever the sector size.</summary>
    public const int Stride = 512;

    internal const int UsaOffsetOffset = 0x04; // usa_ofs (le16)
    internal const int UsaCountOffset = 0x06;  // usa_count (le16): the number, then one entry per stride

    /// <summary>Checks and removes the fixups of <paramref name="bytes"/>, a structure read from
    /// <paramref name="diskOffset"/> whose header is <paramref name="headerSize"/> bytes long.</summary>
    public static void Apply(Span<byte> bytes, string structure, long diskOffset, int headerSize)
    {
        int usaOffset = BinaryPrimitives.ReadUInt16LittleEndian(bytes[UsaOffsetOffset..]);
        int usaCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes[UsaCountOffset..]);
        int strides = bytes.Length / Stride;
        if (usaCount != strides + 1)
        {
            throw new DiskFormatException(structure, "usa_count", usaCount, diskOffset + UsaCountOffset,
                $"a {bytes.Length}-byte structure needs {strides + 1}");
        }
        // The array must lie in the first stride, after the header and before that stride's own fixup bytes.
        if (usaOffset % 2 != 0 || usaOffset < headerSize || usaOffset + 2 * usaCount > Stride - 2)
        {
            throw new DiskFormatException(structure, "usa_ofs", usaOffset, diskOffset + UsaOffsetOffset,
                $"the {usaCount}-entry update sequence array must be even-aligned in bytes {headerSize}..{Stride - 2}");
        }
        ushort sequence = BinaryPrimitives.ReadUInt16LittleEndian(bytes[usaOffset..]);
        for (int i = 0; i < strides; i++)
        {
            int end = (i + 1) * Stride - 2;
            ushort onDisk = BinaryPrimitives.ReadUInt16LittleEndian(bytes[end..]);
            if (onDisk != sequence)
            {
                throw new DiskFormatException(structure, "update sequence", $"0x{onDisk:X4}", diskOffset + end,
                    $"stride {i} does not end with the update sequence number 0x{sequence:X4} (torn write)");
            }
            bytes.Slice(usaOffset + 2 * (i + 1), 2).CopyTo(bytes[end..]);
        }
    }
}
