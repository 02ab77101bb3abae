using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>The value of $Volume's $VOLUME_INFORMATION attribute: NTFS version and volume flags.</summary>
/// <remarks>Offsets from ntfs-3g's <c>VOLUME_INFORMATION</c> (include/ntfs-3g/layout.h).</remarks>
public readonly struct NtfsVolumeInformation
{
    /// <summary>Bytes of the value.</summary>
    public const int Size = 0x0C;

    private const int MajorVersionOffset = 0x08; // major_ver (u8)
    private const int MinorVersionOffset = 0x09; // minor_ver (u8)
    private const int FlagsOffset = 0x0A;        // flags (le16)

    /// <summary>VOLUME_IS_DIRTY: Windows did not finish with the volume (crash, hibernation, pending chkdsk).</summary>
    private const ushort DirtyFlag = 0x0001;

    private NtfsVolumeInformation(byte major, byte minor, ushort flags)
    {
        MajorVersion = major;
        MinorVersion = minor;
        Flags = flags;
    }

    public byte MajorVersion { get; }

    public byte MinorVersion { get; }

    public ushort Flags { get; }

    public bool IsDirty => (Flags & DirtyFlag) != 0;

    /// <summary>Throws for an NTFS version other than 1.x or 3.x (NT 4, Windows 2000 and later): a later one may
    /// keep allocation elsewhere, as ext4's unknown INCOMPAT features would. <paramref name="diskOffset"/> is the value's.</summary>
    public void Validate(long diskOffset)
    {
        if (MajorVersion is not (1 or 3))
        {
            throw new DiskFormatException("NTFS $VOLUME_INFORMATION", "major_ver", $"{MajorVersion}.{MinorVersion}",
                diskOffset + MajorVersionOffset, "only NTFS 1.x and 3.x are known");
        }
    }

    /// <summary>Parses the attribute's value; throws when it is too short. <paramref name="diskOffset"/> is where it lies, for messages.</summary>
    public static NtfsVolumeInformation Parse(ReadOnlySpan<byte> value, long diskOffset)
    {
        if (value.Length < Size)
        {
            throw new DiskFormatException("NTFS $VOLUME_INFORMATION", "value_length", value.Length, diskOffset,
                $"needs at least {Size} bytes");
        }
        return new NtfsVolumeInformation(value[MajorVersionOffset], value[MinorVersionOffset],
            BinaryPrimitives.ReadUInt16LittleEndian(value[FlagsOffset..]));
    }
}
