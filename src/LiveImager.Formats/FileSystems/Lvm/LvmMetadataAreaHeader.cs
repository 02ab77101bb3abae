using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>The header at the start of an LVM2 metadata area (<c>struct mda_header</c> with its first
/// <c>struct raw_locn</c>, lvm2 lib/format_text/layout.h): where in the area's ring buffer the committed metadata text
/// lies, how long it is, and its checksum.</summary>
public readonly struct LvmMetadataAreaHeader
{
    /// <summary>Bytes of the header; the ring buffer of metadata text follows it (MDA_HEADER_SIZE).</summary>
    public const int Length = 512;

    private const int ChecksumOffset = 0x00;    // mda_header uint32_t checksum_xl: of bytes 0x04..0x200
    private const int MagicOffset = 0x04;       // mda_header int8_t magic[16] " LVM2 x[5A%r0N*>"
    private const int VersionOffset = 0x14;     // mda_header uint32_t version (FMTT_VERSION 1)
    private const int StartOffset = 0x18;       // mda_header uint64_t start: this header's byte offset on the PV
    private const int SizeOffset = 0x20;        // mda_header uint64_t size: the area's size in bytes, header included
    private const int LocationOffset = 0x28;    // mda_header raw_locn[0]: the committed metadata
    private const int TextOffsetOffset = 0x00;  // raw_locn uint64_t offset: from the area's start
    private const int TextSizeOffset = 0x08;    // raw_locn uint64_t size: bytes of text
    private const int TextChecksumOffset = 0x10; // raw_locn uint32_t checksum: of the text
    private const int TextFlagsOffset = 0x14;   // raw_locn uint32_t flags
    private const uint RawLocationIgnored = 0x1; // RAW_LOCN_IGNORED: pvchange --metadataignore y

    private static ReadOnlySpan<byte> Magic => " LVM2 x[5A%r0N*>"u8;

    private LvmMetadataAreaHeader(long areaOffset, uint storedChecksum, uint computedChecksum, bool magicMatches,
        uint version, ulong start, ulong size, ulong textOffset, ulong textSize, uint textChecksum, uint textFlags)
    {
        AreaOffset = areaOffset;
        StoredChecksum = storedChecksum;
        ComputedChecksum = computedChecksum;
        MagicMatches = magicMatches;
        Version = version;
        Start = start;
        Size = size;
        TextOffset = textOffset;
        TextSize = textSize;
        TextChecksum = textChecksum;
        TextFlags = textFlags;
    }

    /// <summary>Where the pv_header says the area is, in bytes from the PV's start.</summary>
    public long AreaOffset { get; }

    public uint StoredChecksum { get; }

    public uint ComputedChecksum { get; }

    public bool MagicMatches { get; }

    public uint Version { get; }

    /// <summary>The area's start as the header records it.</summary>
    public ulong Start { get; }

    /// <summary>The area's size in bytes, this header included.</summary>
    public ulong Size { get; }

    /// <summary>Offset of the committed text from the area's start; 0 when the PV is in no volume group.</summary>
    public ulong TextOffset { get; }

    public ulong TextSize { get; }

    public uint TextChecksum { get; }

    public uint TextFlags { get; }

    /// <summary>True when the area holds no metadata: the PV belongs to no volume group yet.</summary>
    public bool IsEmpty => TextOffset == 0 && TextSize == 0;

    /// <summary>True when LVM was told to keep this area but not to use it.</summary>
    public bool IsIgnored => (TextFlags & RawLocationIgnored) != 0;

    public static LvmMetadataAreaHeader Parse(ReadOnlySpan<byte> bytes, long areaOffset)
    {
        bytes = bytes[..Length];
        var location = bytes[LocationOffset..];
        return new LvmMetadataAreaHeader(areaOffset,
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[ChecksumOffset..]),
            LvmChecksum.Compute(bytes[MagicOffset..]),
            bytes.Slice(MagicOffset, Magic.Length).SequenceEqual(Magic),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[VersionOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[StartOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[SizeOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(location[TextOffsetOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(location[TextSizeOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(location[TextChecksumOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(location[TextFlagsOffset..]));
    }

    /// <summary>Throws unless the header is intact and its text lies inside an area of <paramref name="areaSize"/>
    /// bytes (the pv_header's figure) and is at most <paramref name="maxTextBytes"/> long.</summary>
    public void Validate(ulong areaSize, int maxTextBytes)
    {
        if (!MagicMatches)
        {
            throw Bad("magic", "(other bytes)", MagicOffset, "not an LVM2 metadata area");
        }
        if (StoredChecksum != ComputedChecksum)
        {
            throw Bad("checksum_xl", $"0x{StoredChecksum:x8}", ChecksumOffset, $"the header's checksum is 0x{ComputedChecksum:x8}");
        }
        if (Version != 1)
        {
            throw Bad("version", Version, VersionOffset, "expected 1");
        }
        if (Start != (ulong)AreaOffset || Size != areaSize)
        {
            throw Bad("start/size", $"{Start}/{Size}", StartOffset, $"the pv_header puts the area at {AreaOffset}, {areaSize} bytes");
        }
        if (IsEmpty)
        {
            return;
        }
        if (TextOffset < Length || TextOffset >= Size)
        {
            throw Bad("raw_locn offset", TextOffset, LocationOffset + TextOffsetOffset, $"outside the area's ring buffer [{Length}, {Size})");
        }
        if (TextSize == 0 || TextSize > Size - Length || TextSize > (ulong)maxTextBytes)
        {
            throw Bad("raw_locn size", TextSize, LocationOffset + TextSizeOffset,
                $"must be 1..{Math.Min(Size - Length, (ulong)maxTextBytes)} bytes");
        }
    }

    /// <summary>The text's pieces as (offset from the area's start, length): two when it wraps round the ring buffer.</summary>
    public IEnumerable<(long Offset, int Length)> TextPieces()
    {
        ulong first = Math.Min(TextSize, Size - TextOffset);
        yield return ((long)TextOffset, (int)first);
        if (first < TextSize)
        {
            yield return (Length, (int)(TextSize - first));
        }
    }

    private DiskFormatException Bad(string field, object value, int offset, string problem = "") =>
        new("LVM2 metadata area header", field, value, AreaOffset + offset, problem);
}
