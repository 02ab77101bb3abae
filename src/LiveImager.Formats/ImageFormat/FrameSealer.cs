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
        Span<byte> outerBytes = stackalloc byte[FrameHeader.Length];
        outer.Write(outerBytes);
        Span<byte> nonce = stackalloc byte[ImageKeyHeader.NonceLength];
        Span<byte> aad = stackalloc byte[16 + FrameHeader.Length];
        Prepare(outer.FrameNumber, outerBytes, nonce, aad);
        Span<byte> ciphertext = body[..(outer.StoredLength - TagLength)];
        try
        {
            _aes.Decrypt(nonce, ciphertext, body.Slice(ciphertext.Length, TagLength), ciphertext, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            ciphertext.Clear();
            throw new DiskFormatException(outer.Describe(), "authentication tag", $"{outer.StoredLength} sealed bytes",
                outer.ImageOffset + FrameHeader.Length + ciphertext.Length,
                "does not match the frame: a byte of it was changed, or the frame was moved here from elsewhere in this or another image");
        }
        FrameHeader inner = FrameHeader.Parse(ciphertext[..FrameHeader.Length], outer.ImageOffset, chunkSize);
        if (inner.Encoding == FrameEncoding.Sealed || inner.Type != outer.Type || inner.FrameNumber != outer.FrameNumber
            || inner.StoredLength != ciphertext.Length - FrameHeader.Length)
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
