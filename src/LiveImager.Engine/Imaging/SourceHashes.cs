using System.Security.Cryptography;

namespace LiveImager.Engine.Imaging;

/// <summary>SHA-256 and MD5 of a whole disk as read, fed in disk order: a forensic capture hashes what it reads, and
/// <c>verify</c> hashes what the image holds (zeros where no frame is) to compare with the record.</summary>
internal sealed class SourceHashes : IDisposable
{
    private static readonly byte[] s_zeros = new byte[1 << 20];
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);

    /// <summary>Bytes hashed so far: the disk position the next bytes must start at.</summary>
    public long Position { get; private set; }

    /// <summary>Hashes <paramref name="bytes"/> found at disk byte <paramref name="position"/>, zeros first up to it.</summary>
    public void Append(long position, ReadOnlySpan<byte> bytes)
    {
        ZerosTo(position);
        _sha256.AppendData(bytes);
        _md5.AppendData(bytes);
        Position += bytes.Length;
    }

    /// <summary>Hashes zeros from <see cref="Position"/> to <paramref name="position"/>.</summary>
    public void ZerosTo(long position)
    {
        if (position < Position)
        {
            throw new InvalidOperationException($"bytes at {position} come after {Position}: a disk is hashed in order");
        }
        while (Position < position)
        {
            int length = (int)Math.Min(s_zeros.Length, position - Position);
            _sha256.AppendData(s_zeros, 0, length);
            _md5.AppendData(s_zeros, 0, length);
            Position += length;
        }
    }

    /// <summary>The lowercase hex digests (SHA-256, MD5) of everything appended.</summary>
    public (string Sha256, string Md5) Finish() =>
        (Convert.ToHexStringLower(_sha256.GetHashAndReset()), Convert.ToHexStringLower(_md5.GetHashAndReset()));

    public void Dispose()
    {
        _sha256.Dispose();
        _md5.Dispose();
    }
}
