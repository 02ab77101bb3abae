using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace LiveImager.Formats.Media;

/// <summary>The ISO 9660 primary volume descriptor a live medium's hybrid image carries at byte 0x8000 of the whole
/// disk (ECMA-119 4th edition §8.4); only what identifies the volume is kept.</summary>
public readonly struct Iso9660PrimaryVolumeDescriptor
{
    /// <summary>Where the descriptor starts on the disk: logical sector 16 of 2048 bytes, after the system area.</summary>
    public const long DiskOffset = 0x8000; // ECMA-119 §6.2.1 System Area = logical sectors 0..15

    /// <summary>Bytes a volume descriptor occupies (one logical sector).</summary>
    public const int Size = 0x800; // ECMA-119 §8.1 volume descriptor = one 2048-byte logical sector

    /// <summary>Bytes to read from the start of a disk to hold the descriptor.</summary>
    public const int DiskHeadBytes = (int)DiskOffset + Size;

    private const int TypeOffset = 0x000; // ECMA-119 §8.4.1 Volume Descriptor Type (1 = primary)
    private const int IdentifierOffset = 0x001; // ECMA-119 §8.4.2 Standard Identifier "CD001"
    private const int VersionOffset = 0x006; // ECMA-119 §8.4.3 Volume Descriptor Version (1)
    private const int CreationDateOffset = 0x32D; // ECMA-119 §8.4.26 Volume Creation Date and Time (BP 814..830)
    private const int DateDigits = 16; // ECMA-119 §8.4.26.1 "YYYYMMDDhhmmsscc" as ASCII digits
    private const int TimeZoneOffset = CreationDateOffset + DateDigits; // ECMA-119 §8.4.26.1 offset from GMT, 15-minute units

    private const byte PrimaryType = 1;
    private const byte DescriptorVersion = 1;
    private const sbyte EarliestTimeZone = -48;
    private const sbyte LatestTimeZone = 52;
    private const string Structure = "ISO 9660 primary volume descriptor";

    private Iso9660PrimaryVolumeDescriptor(string? volumeId) => VolumeId = volumeId;

    /// <summary>The volume creation date spelled as <c>blkid -s UUID</c> prints it (YYYY-MM-DD-HH-mm-ss-cc), or
    /// null when the date is "not specified" (all zeros).</summary>
    public string? VolumeId { get; }

    /// <summary>True when <paramref name="descriptor"/> starts like a primary volume descriptor (type 1, "CD001");
    /// anything else is not an ISO 9660 volume at all rather than a corrupt one.</summary>
    public static bool IsPresent(ReadOnlySpan<byte> descriptor) =>
        descriptor.Length >= Size
        && descriptor[TypeOffset] == PrimaryType
        && descriptor.Slice(IdentifierOffset, 5).SequenceEqual("CD001"u8);

    /// <summary>Parses a descriptor for which <see cref="IsPresent"/> holds.</summary>
    /// <exception cref="DiskFormatException">Too short, not a primary descriptor, an unknown version, or a creation
    /// date that is not 16 digits and a time zone in range.</exception>
    public static Iso9660PrimaryVolumeDescriptor Parse(ReadOnlySpan<byte> descriptor)
    {
        if (descriptor.Length < Size)
        {
            throw new DiskFormatException(Structure, $"{descriptor.Length} bytes given, a descriptor is {Size}");
        }
        if (!IsPresent(descriptor))
        {
            Throw("type and standard identifier", $"{descriptor[TypeOffset]} {Encoding.ASCII.GetString(descriptor.Slice(IdentifierOffset, 5))}",
                TypeOffset, "not 1 CD001");
        }
        if (descriptor[VersionOffset] != DescriptorVersion)
        {
            Throw("volume descriptor version", descriptor[VersionOffset], VersionOffset, "only version 1 is defined");
        }
        ReadOnlySpan<byte> digits = descriptor.Slice(CreationDateOffset, DateDigits);
        sbyte timeZone = unchecked((sbyte)descriptor[TimeZoneOffset]);
        bool unspecified = digits.IndexOfAnyExcept((byte)'0') < 0 || digits.IndexOfAnyExcept((byte)0) < 0;
        if (unspecified)
        {
            return new Iso9660PrimaryVolumeDescriptor(null);
        }
        for (int i = 0; i < DateDigits; i++)
        {
            if (!char.IsAsciiDigit((char)digits[i]))
            {
                Throw("volume creation date", Printable(digits), CreationDateOffset + i, $"byte {i} is not an ASCII digit");
            }
        }
        if (timeZone is < EarliestTimeZone or > LatestTimeZone)
        {
            Throw("volume creation time zone", timeZone, TimeZoneOffset, $"outside {EarliestTimeZone}..{LatestTimeZone} quarter hours");
        }
        return new Iso9660PrimaryVolumeDescriptor(FormatVolumeId(digits));
    }

    // util-linux libblkid (iso9660.c) joins the digit pairs with '-' after the 4-digit year: 2026-11-25-12-00-00-00.
    private static string FormatVolumeId(ReadOnlySpan<byte> digits)
    {
        var id = new StringBuilder(DateDigits + 6);
        for (int i = 0; i < DateDigits; i++)
        {
            if (i >= 4 && i % 2 == 0)
            {
                id.Append('-');
            }
            id.Append((char)digits[i]);
        }
        return id.ToString();
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }
        return text.ToString();
    }

    [DoesNotReturn]
    private static void Throw(string field, object value, int offset, string problem) =>
        throw new DiskFormatException(Structure, field, value, DiskOffset + offset, problem);
}
