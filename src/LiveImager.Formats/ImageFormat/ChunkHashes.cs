using System.Buffers.Binary;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The chunk-hash frame's payload (type 7, version 5): the XXH3-128 of every data frame's raw bytes, 16 bytes
/// each (low half first, both little-endian), in frame order, one per index entry.</summary>
/// <remarks>What an incremental capture compares a source chunk with, without reading the base image's data.</remarks>
public sealed class ChunkHashes
{
    public const int HashLength = 16;

    public ChunkHashes(IReadOnlyList<UInt128> hashes)
    {
        Hashes = hashes;
    }

    /// <summary>One hash per data frame, in frame order.</summary>
    public IReadOnlyList<UInt128> Hashes { get; }

    /// <summary>Reads a payload that must hold exactly <paramref name="frames"/> hashes; <paramref name="frameOffset"/> is
    /// the frame's image offset, for messages.</summary>
    public static ChunkHashes Parse(ReadOnlySpan<byte> bytes, long frames, long frameOffset)
    {
        if (bytes.Length % HashLength != 0 || bytes.Length / HashLength != frames)
        {
            throw new DiskFormatException("chunk-hash frame", "length", bytes.Length, frameOffset,
                $"must hold one {HashLength}-byte hash for each of the {frames} data frames");
        }
        var hashes = new UInt128[frames];
        for (int i = 0; i < hashes.Length; i++)
        {
            ReadOnlySpan<byte> h = bytes.Slice(i * HashLength, HashLength);
            hashes[i] = new UInt128(BinaryPrimitives.ReadUInt64LittleEndian(h[8..]), BinaryPrimitives.ReadUInt64LittleEndian(h));
        }
        return new ChunkHashes(hashes);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Hashes.Count * HashLength];
        for (int i = 0; i < Hashes.Count; i++)
        {
            Span<byte> h = bytes.AsSpan(i * HashLength, HashLength);
            BinaryPrimitives.WriteUInt64LittleEndian(h, (ulong)Hashes[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(h[8..], (ulong)(Hashes[i] >> 64));
        }
        return bytes;
    }
}
