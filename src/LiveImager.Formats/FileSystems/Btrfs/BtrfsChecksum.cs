using System.Buffers.Binary;
using System.Security.Cryptography;
using LiveImager.Formats.FileSystems.Ext;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>The checksum at the start of the superblock and of every tree block: over the bytes after its 32-byte field.</summary>
/// <remarks>btrfs_tree.h enum btrfs_csum_type. crc32c is the default and what nearly every filesystem carries; sha256
/// costs nothing to add. xxhash64 and blake2b are not checked: such a filesystem is copied whole.</remarks>
public static class BtrfsChecksum
{
    /// <summary>Size of the checksum field (BTRFS_CSUM_SIZE).</summary>
    public const int FieldSize = 0x20;

    public const ushort TypeCrc32C = 0;
    public const ushort TypeXxHash64 = 1;
    public const ushort TypeSha256 = 2;
    public const ushort TypeBlake2B = 3;

    public static bool IsChecked(ushort type) => type is TypeCrc32C or TypeSha256;

    public static string Name(ushort type) => type switch
    {
        TypeCrc32C => "crc32c",
        TypeXxHash64 => "xxhash64",
        TypeSha256 => "sha256",
        TypeBlake2B => "blake2b",
        _ => $"unknown type {type}",
    };

    /// <summary>True when the checksum stored in <paramref name="block"/>'s first bytes covers the rest of it.</summary>
    /// <param name="computed">The computed checksum as hex, for a message when it does not match.</param>
    public static bool Verify(ushort type, ReadOnlySpan<byte> block, out string stored, out string computed)
    {
        ReadOnlySpan<byte> covered = block[FieldSize..];
        Span<byte> value = stackalloc byte[FieldSize];
        int length;
        if (type == TypeCrc32C)
        {
            // The standard crc32c (inverted in and out), stored little-endian in the field's first four bytes.
            BinaryPrimitives.WriteUInt32LittleEndian(value, ~ExtChecksums.Crc32C(uint.MaxValue, covered));
            length = sizeof(uint);
        }
        else if (type == TypeSha256)
        {
            length = SHA256.HashData(covered, value);
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a checked checksum type");
        }
        stored = Convert.ToHexString(block[..length]);
        computed = Convert.ToHexString(value[..length]);
        return block[..length].SequenceEqual(value[..length]);
    }

    /// <summary>Writes the checksum of <paramref name="block"/>'s covered bytes into its field, as mkfs would.</summary>
    public static void Write(ushort type, Span<byte> block)
    {
        ReadOnlySpan<byte> covered = block[FieldSize..];
        block[..FieldSize].Clear();
        if (type == TypeCrc32C)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block, ~ExtChecksums.Crc32C(uint.MaxValue, covered));
        }
        else if (type == TypeSha256)
        {
            SHA256.HashData(covered, block[..FieldSize]);
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a checked checksum type");
        }
    }
}
