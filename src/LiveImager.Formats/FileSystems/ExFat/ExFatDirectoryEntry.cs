using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.FileSystems.ExFat;

/// <summary>One 32-byte exFAT directory entry, as far as the root directory's critical primary entries need it:
/// the allocation bitmap (0x81), the up-case table (0x82) and the volume label (0x83).</summary>
/// <remarks>exFAT specification sections 6.2 (generic primary entry), 7.1 (bitmap), 7.2 (up-case), 7.3 (label).</remarks>
public readonly struct ExFatDirectoryEntry
{
    /// <summary>Bytes in one entry.</summary>
    public const int Size = 32;

    /// <summary>EntryType 0x00: the end of the directory; no later entry is in use.</summary>
    public const byte EndOfDirectory = 0x00;

    /// <summary>EntryType of the allocation bitmap entry.</summary>
    public const byte AllocationBitmap = 0x81;

    /// <summary>EntryType of the up-case table entry.</summary>
    public const byte UpcaseTable = 0x82;

    /// <summary>EntryType of the volume label entry.</summary>
    public const byte VolumeLabel = 0x83;

    /// <summary>Byte offset of FirstCluster within an entry, for messages.</summary>
    public const int FirstClusterOffset = 0x14;   // FirstCluster (bitmap and up-case entries)

    /// <summary>Byte offset of DataLength within an entry, for messages.</summary>
    public const int DataLengthOffset = 0x18;     // DataLength (bitmap and up-case entries)

    private const int EntryTypeOffset = 0x00;     // EntryType
    private const int BitmapFlagsOffset = 0x01;   // BitmapFlags: bit 0 says which FAT this bitmap belongs to
    private const int CharacterCountOffset = 0x01; // CharacterCount of the volume label, at most 11
    private const int LabelOffset = 0x02;          // VolumeLabel: 11 UTF-16LE characters
    private const int MaxLabelCharacters = 11;

    private ExFatDirectoryEntry(ReadOnlySpan<byte> entry)
    {
        EntryType = entry[EntryTypeOffset];
        BitmapFlags = entry[BitmapFlagsOffset];
        FirstCluster = BinaryPrimitives.ReadUInt32LittleEndian(entry[FirstClusterOffset..]);
        DataLength = BinaryPrimitives.ReadUInt64LittleEndian(entry[DataLengthOffset..]);
        int characters = Math.Min((int)entry[CharacterCountOffset], MaxLabelCharacters);
        Label = EntryType == VolumeLabel
            ? Encoding.Unicode.GetString(entry.Slice(LabelOffset, characters * 2))
            : null;
    }

    public byte EntryType { get; }
    public byte BitmapFlags { get; }
    public uint FirstCluster { get; }
    public ulong DataLength { get; }

    /// <summary>The label of a volume label entry; null for other entries.</summary>
    public string? Label { get; }

    public static ExFatDirectoryEntry Parse(ReadOnlySpan<byte> entry) => new(entry[..Size]);
}
