using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.ExFat;

/// <summary>The boot checksum sector: the 12th sector of a boot region, filled with one checksum of the 11 before it.</summary>
/// <remarks>exFAT specification section 3.4. VolumeFlags (bytes 106-107) and PercentInUse (byte 112) of the boot
/// sector are left out, so a driver may update them without rewriting the checksum.</remarks>
public static class ExFatBootChecksum
{
    private const int VolumeFlagsByte0 = 106;
    private const int VolumeFlagsByte1 = 107;
    private const int PercentInUseByte = 112;
    private const int ChecksummedSectors = 11;

    /// <summary>Throws <see cref="DiskFormatException"/> unless every word of the checksum sector matches the checksum
    /// of the first 11 sectors of <paramref name="region"/>, a boot region of <paramref name="bytesPerSector"/>-byte sectors.</summary>
    public static void Verify(ReadOnlySpan<byte> region, int bytesPerSector)
    {
        int checksummed = ChecksummedSectors * bytesPerSector;
        uint checksum = 0;
        for (int i = 0; i < checksummed; i++)
        {
            if (i is VolumeFlagsByte0 or VolumeFlagsByte1 or PercentInUseByte)
            {
                continue;
            }
            checksum = ((checksum & 1) != 0 ? 0x80000000u : 0) + (checksum >> 1) + region[i];
        }
        var sector = region.Slice(checksummed, bytesPerSector);
        for (int at = 0; at < bytesPerSector; at += 4)
        {
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(sector[at..]);
            if (stored != checksum)
            {
                throw new DiskFormatException("exfat boot checksum sector", "BootChecksum", $"0x{stored:X8}",
                    checksummed + at, $"does not match the boot region's checksum 0x{checksum:X8}");
            }
        }
    }
}
