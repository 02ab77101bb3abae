using System.IO.Hashing;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The one checksum of the image format: XXH3-64, seed 0 (docs/image-format.md).</summary>
public static class ImageChecksum
{
    public static ulong Of(ReadOnlySpan<byte> data) => XxHash3.HashToUInt64(data);

    /// <summary>A data frame's content hash, XXH3-128 (seed 0) of its raw bytes: the chunk-hash frame keeps one per
    /// data frame, and an incremental capture references a base frame only when this and the XXH3-64 both match
    /// (a 64-bit checksum alone could collide and silently restore the wrong data).</summary>
    public static UInt128 ContentHashOf(ReadOnlySpan<byte> data) => XxHash128.HashToUInt128(data);

    /// <summary>The checksum of <paramref name="length"/> zero bytes, as a zero-run frame records it.</summary>
    public static ulong OfZeros(int length)
    {
        // Zero runs are common (a cleared chunk per empty region); hashing a shared zero block avoids an allocation.
        if (length <= s_zeros.Length)
        {
            return Of(s_zeros.AsSpan(0, length));
        }
        var hash = new XxHash3();
        int left = length;
        while (left > 0)
        {
            int piece = Math.Min(left, s_zeros.Length);
            hash.Append(s_zeros.AsSpan(0, piece));
            left -= piece;
        }
        return hash.GetCurrentHashAsUInt64();
    }

    private static readonly byte[] s_zeros = new byte[1 << 20];
}
