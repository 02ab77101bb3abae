using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.FileSystems.Opaque;

/// <summary>The start of a LUKS1 or LUKS2 header: magic, version, UUID and (LUKS2) label.</summary>
/// <remarks>Offsets from the LUKS1 on-disk format specification and the LUKS2 on-disk format document; both versions
/// keep the UUID at the same place.</remarks>
public readonly struct LuksHeader
{
    /// <summary>Bytes the probe needs.</summary>
    public const int Size = 0x1D0;

    private const int MagicOffset = 0x00;   // LUKS1/2 magic[6] "LUKS\xba\xbe"
    private const int VersionOffset = 0x06; // LUKS1/2 uint16_t version, big-endian
    private const int LabelOffset = 0x18;   // LUKS2 char label[48]
    private const int LabelLength = 48;
    private const int UuidOffset = 0xA8;    // LUKS1 uuid[40] / LUKS2 char uuid[40]
    private const int UuidLength = 40;

    // Not a u8 literal: 0xBA 0xBE are raw bytes, not UTF-8.
    private static ReadOnlySpan<byte> Magic => [(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE];

    private LuksHeader(ushort version, string? uuid, string? label)
    {
        Version = version;
        Uuid = uuid;
        Label = label;
    }

    /// <summary>1 or 2.</summary>
    public ushort Version { get; }

    /// <summary>The UUID as cryptsetup and blkid print it, or null when empty.</summary>
    public string? Uuid { get; }

    /// <summary>The LUKS2 label, or null (LUKS1 has none).</summary>
    public string? Label { get; }

    /// <summary>True when <paramref name="head"/> starts with the LUKS magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> head) =>
        head.Length >= Size && head.Slice(MagicOffset, Magic.Length).SequenceEqual(Magic);

    /// <summary>Parses a header whose magic <see cref="HasMagic"/> found.</summary>
    public static LuksHeader Parse(ReadOnlySpan<byte> header)
    {
        ushort version = BinaryPrimitives.ReadUInt16BigEndian(header[VersionOffset..]);
        string? label = version == 2 ? ReadString(header.Slice(LabelOffset, LabelLength)) : null;
        return new LuksHeader(version, ReadString(header.Slice(UuidOffset, UuidLength)), label);
    }

    /// <summary>Throws for a version other than 1 or 2.</summary>
    public void Validate()
    {
        if (Version is not (1 or 2))
        {
            throw new DiskFormatException("LUKS header", "version", Version, VersionOffset, "expected 1 or 2");
        }
    }

    private static string? ReadString(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        var text = end < 0 ? field : field[..end];
        return text.IsEmpty ? null : Encoding.UTF8.GetString(text);
    }
}
