namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>LVM2's checksum of labels, metadata area headers and metadata text (lvm2 lib/misc/crc.c calc_crc).</summary>
/// <remarks>The reflected CRC-32 polynomial 0xEDB88320, but seeded with 0xF597A6CF and with no final inversion, so it is
/// not the zlib CRC-32 that <c>System.IO.Hashing</c> computes.</remarks>
public static class LvmChecksum
{
    /// <summary>The seed LVM starts every checksum from (INITIAL_CRC).</summary>
    public const uint Initial = 0xF597A6CF;

    private const uint Polynomial = 0xEDB88320;

    private static readonly uint[] s_table = BuildTable();

    /// <summary>The checksum of <paramref name="bytes"/>, continuing from <paramref name="crc"/> (a wrapped text is
    /// checksummed in two pieces).</summary>
    public static uint Compute(ReadOnlySpan<byte> bytes, uint crc = Initial)
    {
        foreach (byte b in bytes)
        {
            crc = (crc >> 8) ^ s_table[(byte)(crc ^ b)];
        }
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint value = i;
            for (int bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ Polynomial : value >> 1;
            }
            table[i] = value;
        }
        return table;
    }
}
