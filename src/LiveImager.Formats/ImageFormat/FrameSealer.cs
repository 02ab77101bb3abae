using System.Buffers.Binary;
using System.Security.Cryptography;

namespace LiveImager.Formats.ImageFormat;

/// <summary>Seals and opens the frames of an encrypted image (image-format.md "Sealed frames"): the frame's own header
/// and payload are encrypted together with AES-256-GCM under the image's data key; what stays in the clear is an outer
/// header with the frame's type, number and sealed length, which is authenticated with the image id.</summary>
/// <remarks>The nonce is the frame number: frame numbers never repeat within an image and every image has its own
/// random key, so a nonce never repeats under one key. The frame number and the image id are in the associated data,
/// so a frame swapped, dropped, repeated or taken from another image fails to open or breaks the frame count. One per
/// thread.</remarks>
public sealed class FrameSealer : IDisposable
{
    public const int TagLength = 16;

    /// <summary>Bytes a sealed frame adds to its payload: the outer header, the sealed inner header and the tag.</summary>
    public const int Overhead = FrameHeader.Length + FrameHeader.Length + TagLength;

    /// <summary>Where the plaintext inner header goes in a frame buffer given to <see cref="Seal"/>; the payload follows it.</summary>
    public const int InnerHeaderOffset = FrameHeader.Length;

    /// <summary>Where the plaintext payload goes in a frame buffer given to <see cref="Seal"/>.</summary>
    public const int PayloadOffset = 2 * FrameHeader.Length;

    private readonly AesGcm _aes;
    private readonly byte[] _imageId = new byte[16];

    internal FrameSealer(ReadOnlySpan<byte> key, Guid imageId)
    {
        _aes = new AesGcm(key, TagLength);
        imageId.TryWriteBytes(_imageId);
    }

    /// <summary>Seals in place the frame whose payload (<paramref name="inner"/>'s stored length) already lies at
    /// <see cref="PayloadOffset"/> of <paramref name="frame"/>; returns the sealed frame's length (payload + <see cref="Overhead"/>),
    /// which starts at <paramref name="frame"/>[0].</summary>
    public int Seal(in FrameHeader inner, Span<byte> frame)
    {
        int sealedLength = FrameHeader.Length + inner.StoredLength + TagLength;
        var outer = new FrameHeader(inner.Type, FrameEncoding.Sealed, inner.FrameNumber, 0, 0, 0, sealedLength, 0);
        outer.Write(frame);
        inner.Write(frame[InnerHeaderOffset..]);
        Span<byte> plaintext = frame.Slice(InnerHeaderOffset, FrameHeader.Length + inner.StoredLength);
        Span<byte> nonce = stackalloc byte[ImageKeyHeader.NonceLength];
        Span<byte> aad = stackalloc byte[16 + FrameHeader.Length];
        Prepare(outer.FrameNumber, frame[..FrameHeader.Length], nonce, aad);
        _aes.Encrypt(nonce, plaintext, plaintext, frame.Slice(InnerHeaderOffset + plaintext.Length, TagLength), aad);
        return FrameHeader.Length + sealedLength;
    }

    /// <summary>Seals data frame <paramref name="frameNumber"/> (disk bytes at <paramref name="diskPosition"/>, stored as
    /// <paramref name="payload"/> at <see cref="PayloadOffset"/> of <paramref name="frame"/>); returns its length.</summary>
    public int SealData(uint frameNumber, long diskPosition, in EncodedPayload payload, Span<byte> frame) =>
        Seal(new FrameHeader(FrameType.Data, payload.Encoding, frameNumber, 0, diskPosition, payload.RawLength, payload.StoredLength,
            payload.RawChecksum), frame);

    /// <summary>Opens, in place, the sealed body (<paramref name="outer"/>'s stored length bytes that follow its header)
    /// and returns the frame's own header; its payload is then <paramref name="body"/>[<see cref="FrameHeader.Length"/>..].
    /// Damage, a move or another image's frame throws <see cref="DiskFormatException"/> naming the frame and its image offset.</summary>
    public FrameHeader Open(in FrameHeader outer, Span<byte> body, int chunkSize)
    {
        int ciphertextLength = outer.StoredLength - TagLength;
        return Open(outer, body[..ciphertextLength], body.Slice(ciphertextLength, TagLength), chunkSize);
    }

    /// <summary>Reads a sealed frame's own header without opening the frame: <paramref name="sealedHeader"/> (the first
    /// <see cref="FrameHeader.Length"/> bytes of its sealed body) decrypted with the key stream alone, parsed and matched
    /// with <paramref name="outer"/>. Nothing is authenticated yet: a sequential reader takes it to place the frame and
    /// check its order, and a worker's <see cref="OpenData"/> authenticates the frame and holds it to this header
    /// before any of its bytes is used.</summary>
    /// <remarks>GCM is a counter mode: the body's first bytes are XORed with the key stream that the same nonce gives
    /// any plaintext, so encrypting zeros under the frame's nonce yields it. That ciphertext never leaves this method,
    /// so the nonce's reuse reveals nothing.</remarks>
    public FrameHeader PeekHeader(in FrameHeader outer, ReadOnlySpan<byte> sealedHeader, int chunkSize)
    {
        Span<byte> outerBytes = stackalloc byte[FrameHeader.Length];
        outer.Write(outerBytes);
        Span<byte> nonce = stackalloc byte[ImageKeyHeader.NonceLength];
        Span<byte> aad = stackalloc byte[16 + FrameHeader.Length];
        Prepare(outer.FrameNumber, outerBytes, nonce, aad);
        Span<byte> header = stackalloc byte[FrameHeader.Length];
        header.Clear();
        Span<byte> unusedTag = stackalloc byte[TagLength];
        _aes.Encrypt(nonce, header, header, unusedTag);
        for (int i = 0; i < header.Length; i++)
        {
            header[i] ^= sealedHeader[i];
        }
        return Matched(outer, FrameHeader.Parse(header, outer.ImageOffset, chunkSize), outer.StoredLength - TagLength);
    }

    /// <summary>Opens, in place, a data frame a sequential reader left sealed (<see cref="ImageReader"/>'s
    /// <see cref="SealedData"/>): <paramref name="ciphertext"/> is its sealed header followed by its sealed payload.
    /// Throws as <see cref="Open(in FrameHeader, Span{byte}, int)"/> does, and when the authenticated header is not the
    /// one the reader went by.</summary>
    public void OpenData(in SealedData sealedData, Span<byte> ciphertext, int chunkSize)
    {
        Span<byte> tag = stackalloc byte[TagLength];
        BinaryPrimitives.WriteUInt128LittleEndian(tag, sealedData.Tag);
        FrameHeader inner = Open(sealedData.Outer, ciphertext, tag, chunkSize);
        if (inner != sealedData.Inner)
        {
            throw new DiskFormatException(sealedData.Outer.Describe(), "sealed header", inner.Describe(), sealedData.Outer.ImageOffset,
                "does not match the header the frame was read by");
        }
    }

    /// <summary>Opens, in place, a sealed body whose tag lies apart from it.</summary>
    public FrameHeader Open(in FrameHeader outer, Span<byte> ciphertext, ReadOnlySpan<byte> tag, int chunkSize)
    {
        Span<byte> outerBytes = stackalloc byte[FrameHeader.Length];
        outer.Write(outerBytes);
        Span<byte> nonce = stackalloc byte[ImageKeyHeader.NonceLength];
        Span<byte> aad = stackalloc byte[16 + FrameHeader.Length];
        Prepare(outer.FrameNumber, outerBytes, nonce, aad);
        try
        {
            _aes.Decrypt(nonce, ciphertext, tag, ciphertext, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            ciphertext.Clear();
            throw new DiskFormatException(outer.Describe(), "authentication tag", $"{outer.StoredLength} sealed bytes",
                outer.ImageOffset + FrameHeader.Length + ciphertext.Length,
                "does not match the frame: a byte of it was changed, or the frame was moved here from elsewhere in this or another image");
        }
        return Matched(outer, FrameHeader.Parse(ciphertext[..FrameHeader.Length], outer.ImageOffset, chunkSize), ciphertext.Length);
    }

    /// <summary>The inner header, once it is known to agree with the outer one and to account for the sealed body's length.</summary>
    private static FrameHeader Matched(in FrameHeader outer, in FrameHeader inner, int ciphertextLength)
    {
        if (inner.Encoding == FrameEncoding.Sealed || inner.Type != outer.Type || inner.FrameNumber != outer.FrameNumber
            || inner.StoredLength != ciphertextLength - FrameHeader.Length)
        {
            throw new DiskFormatException(outer.Describe(), "sealed header", inner.Describe(), outer.ImageOffset,
                "does not match the frame's outer header");
        }
        return inner;
    }

    private void Prepare(uint frameNumber, ReadOnlySpan<byte> outerHeader, Span<byte> nonce, Span<byte> aad)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(nonce, frameNumber);
        _imageId.CopyTo(aad);
        outerHeader.CopyTo(aad[16..]);
    }

    public void Dispose() => _aes.Dispose();
}
