using System.Buffers.Binary;
using System.Numerics;

namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>The two checksums ext4 metadata carries: crc32c (metadata_csum) and the older crc16 (gdt_csum).</summary>
public static class ExtChecksums
{
    private static readonly ushort[] s_crc16Table = BuildCrc16Table();

    /// <summary>crc32c as the kernel's crc32c_le and e2fsprogs' ext2fs_crc32c_le compute it: the running value is
    /// neither inverted on entry nor on exit; callers pass ~0 or a seed.</summary>
    public static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the raw CRC32C step (the SSE4.2 crc32 instruction when present), the same
        // uninverted update as crc32c_le.
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }
        return crc;
    }

    /// <summary>CRC-16 with the reflected polynomial 0x8005 (0xA001), as e2fsprogs' ext2fs_crc16 and the kernel's crc16.</summary>
    public static ushort Crc16(ushort crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = (ushort)((crc >> 8) ^ s_crc16Table[(crc ^ b) & 0xFF]);
        }
        return crc;
    }

    private static ushort[] BuildCrc16Table()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            int value = i;
            for (int bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ 0xA001 : value >> 1;
            }
            table[i] = (ushort)value;
        }
        return table;
    }
}
