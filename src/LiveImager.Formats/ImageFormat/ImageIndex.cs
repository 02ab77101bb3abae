using System.Buffers.Binary;

namespace LiveImager.Formats.ImageFormat;

/// <summary>One data frame as the index lists it.</summary>
public readonly record struct IndexEntry(long DiskPosition, long ImageOffset, int RawLength, uint FrameNumber, ulong RawChecksum)
{
    public long DiskEnd => DiskPosition + RawLength;
}

/// <summary>The index frame's payload: one 32-byte entry per data frame, in frame order.</summary>
public sealed class ImageIndex
{
    public const int EntryLength = 0x20;

    private const int DiskPositionOffset = 0x00;   // image-format.md Index 0x00 disk position
    private const int ImageOffsetOffset = 0x08;    // 0x08 image offset of the frame header
    private const int RawLengthOffset = 0x10;      // 0x10 raw length
    private const int FrameNumberOffset = 0x14;    // 0x14 frame number
    private const int RawChecksumOffset = 0x18;    // 0x18 raw checksum

    public ImageIndex(IReadOnlyList<IndexEntry> entries)
    {
        Entries = entries;
    }

    public IReadOnlyList<IndexEntry> Entries { get; }

    /// <summary>Reads and validates an index payload; <paramref name="frameOffset"/> is the index frame's image offset, for messages.</summary>
    public static ImageIndex Parse(ReadOnlySpan<byte> bytes, long frameOffset, int chunkSize)
    {
        const string structure = "image index";
        if (bytes.Length % EntryLength != 0)
        {
            throw new DiskFormatException(structure, "length", bytes.Length, frameOffset, $"must be a multiple of {EntryLength}");
        }
        var entries = new IndexEntry[bytes.Length / EntryLength];
        for (int i = 0; i < entries.Length; i++)
        {
            ReadOnlySpan<byte> e = bytes.Slice(i * EntryLength, EntryLength);
            var entry = new IndexEntry(
                BinaryPrimitives.ReadInt64LittleEndian(e[DiskPositionOffset..]),
                BinaryPrimitives.ReadInt64LittleEndian(e[ImageOffsetOffset..]),
                BinaryPrimitives.ReadInt32LittleEndian(e[RawLengthOffset..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[FrameNumberOffset..]),
                BinaryPrimitives.ReadUInt64LittleEndian(e[RawChecksumOffset..]));
            if (entry.RawLength <= 0 || entry.RawLength > chunkSize || entry.DiskPosition < 0 || entry.ImageOffset < ImageHeader.Length
                || entry.ImageOffset >= frameOffset)
            {
                throw new DiskFormatException(structure, $"entry {i}", $"disk {entry.DiskPosition}+{entry.RawLength} at image {entry.ImageOffset}",
                    frameOffset, "lies outside the image or the chunk size");
            }
            if (i > 0 && (entry.DiskPosition < entries[i - 1].DiskEnd || entry.ImageOffset <= entries[i - 1].ImageOffset))
            {
                throw new DiskFormatException(structure, $"entry {i}", $"disk {entry.DiskPosition} at image {entry.ImageOffset}", frameOffset,
                    "is not after the previous entry on the disk and in the image");
            }
            entries[i] = entry;
        }
        return new ImageIndex(entries);
    }

    /// <summary>The index payload.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[Entries.Count * EntryLength];
        for (int i = 0; i < Entries.Count; i++)
        {
            Span<byte> e = bytes.AsSpan(i * EntryLength, EntryLength);
            IndexEntry entry = Entries[i];
            BinaryPrimitives.WriteInt64LittleEndian(e[DiskPositionOffset..], entry.DiskPosition);
            BinaryPrimitives.WriteInt64LittleEndian(e[ImageOffsetOffset..], entry.ImageOffset);
            BinaryPrimitives.WriteInt32LittleEndian(e[RawLengthOffset..], entry.RawLength);
            BinaryPrimitives.WriteUInt32LittleEndian(e[FrameNumberOffset..], entry.FrameNumber);
            BinaryPrimitives.WriteUInt64LittleEndian(e[RawChecksumOffset..], entry.RawChecksum);
        }
        return bytes;
    }
}
