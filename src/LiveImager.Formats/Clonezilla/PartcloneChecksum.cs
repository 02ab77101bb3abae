using System.Buffers.Binary;
using System.IO.Hashing;

namespace LiveImager.Formats.Clonezilla;

/// <summary>The running checksum of a partclone image's blocks (partclone src/checksum.c): fed block by block, compared
/// after each group, started again per group when the image says "reseed".</summary>
/// <remarks>partclone's CRC32 is the reflected 0xEDB88320 polynomial from 0xFFFFFFFF without the final inversion, so
/// it is the complement of the standard CRC-32 that <see cref="System.IO.Hashing.Crc32"/> computes (vectorised).
/// XXH64 (seed 0) and XXH3-128 are stored as partclone's memcpy of the digest: little-endian, low half first.</remarks>
public sealed class PartcloneChecksum
{
    private readonly PartcloneChecksumMode _mode;
    private readonly Crc32? _crc32;
    private readonly XxHash64? _xxh64;
    private readonly XxHash128? _xxh128;

    public PartcloneChecksum(PartcloneChecksumMode mode)
    {
        _mode = mode;
        switch (mode)
        {
            case PartcloneChecksumMode.Crc32:
                _crc32 = new Crc32();
                break;
            case PartcloneChecksumMode.Xxh64:
                _xxh64 = new XxHash64(0);
                break;
            case PartcloneChecksumMode.Xxh128:
                _xxh128 = new XxHash128();
                break;
        }
    }

    /// <summary>The stored size of one checksum of <paramref name="mode"/>, or -1 for a mode partclone does not define.</summary>
    public static int SizeOf(PartcloneChecksumMode mode) => mode switch
    {
        PartcloneChecksumMode.None => 0,
        PartcloneChecksumMode.Crc32 => 4,
        PartcloneChecksumMode.Xxh64 => 8,
        PartcloneChecksumMode.Xxh128 => 16,
        _ => -1,
    };

    /// <summary>The mode as partclone prints it: CRC32, XXH64, XXH128, NONE.</summary>
    public static string NameOf(PartcloneChecksumMode mode) => mode == PartcloneChecksumMode.None ? "NONE" : mode.ToString().ToUpperInvariant();

    /// <summary>partclone's CRC32 of <paramref name="bytes"/> from its seed, as the header and bitmap carry it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes) => ~System.IO.Hashing.Crc32.HashToUInt32(bytes);

    public void Append(ReadOnlySpan<byte> bytes)
    {
        _crc32?.Append(bytes);
        _xxh64?.Append(bytes);
        _xxh128?.Append(bytes);
    }

    /// <summary>Starts again from the seed (partclone's init_checksum).</summary>
    public void Reset()
    {
        _crc32?.Reset();
        _xxh64?.Reset();
        _xxh128?.Reset();
    }

    /// <summary>Writes the checksum so far as partclone stores it; the running state is kept (finalize_checksum does
    /// not reset it, so an image without reseed goes on from here).</summary>
    public void Current(Span<byte> destination)
    {
        switch (_mode)
        {
            case PartcloneChecksumMode.Crc32:
                BinaryPrimitives.WriteUInt32LittleEndian(destination, ~_crc32!.GetCurrentHashAsUInt32());
                break;
            case PartcloneChecksumMode.Xxh64:
                BinaryPrimitives.WriteUInt64LittleEndian(destination, _xxh64!.GetCurrentHashAsUInt64());
                break;
            case PartcloneChecksumMode.Xxh128:
                UInt128 hash = _xxh128!.GetCurrentHashAsUInt128();
                BinaryPrimitives.WriteUInt64LittleEndian(destination, (ulong)hash);
                BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], (ulong)(hash >> 64));
                break;
        }
    }
}
