using System.Security.Cryptography;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The random 256-bit data key of one encrypted image, in pinned memory zeroed on <see cref="Dispose"/>: made
/// for a capture, or unwrapped from the key header with the passphrase for a reader.</summary>
/// <remarks>The crypto lives here in Formats because it is part of the format (like zstd and XXH3): pure computation on
/// spans, through .NET's <see cref="AesGcm"/> (OpenSSL's libcrypto underneath, already on the live system) and a
/// managed Argon2id; no file, device or syscall of ours.</remarks>
public sealed class ImageKey : IDisposable
{
    public const int KeyLength = 32;

    private readonly byte[] _key = GC.AllocateArray<byte>(KeyLength, pinned: true);

    private ImageKey()
    {
    }

    /// <summary>A new random data key for the image whose header is <paramref name="header"/>, and the key header
    /// that wraps it under <paramref name="passphrase"/> (with its <see cref="ImagePassphrase.NewImageKdf"/>).</summary>
    public static ImageKey Create(ImagePassphrase passphrase, in ImageHeader header, out ImageKeyHeader keyHeader)
    {
        if (!AesGcm.IsSupported)
        {
            throw new PlatformNotSupportedException("AES-GCM is not available: the system's OpenSSL (libssl3) is missing");
        }
        var key = new ImageKey();
        RandomNumberGenerator.Fill(key._key);
        KdfParameters kdf = passphrase.NewImageKdf;
        var draft = new ImageKeyHeader(kdf, RandomNumberGenerator.GetBytes(ImageKeyHeader.SaltLength),
            RandomNumberGenerator.GetBytes(ImageKeyHeader.NonceLength), new byte[KeyLength], new byte[ImageKeyHeader.TagLength]);
        Span<byte> kek = stackalloc byte[KeyLength];
        try
        {
            passphrase.DeriveKey(draft.Salt, kdf, kek);
            using var wrap = new AesGcm(kek, ImageKeyHeader.TagLength);
            wrap.Encrypt(draft.WrapNonce, key._key, draft.WrappedKey, draft.WrapTag, AssociatedData(header, draft));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
        keyHeader = draft;
        return key;
    }

    /// <summary>Unwraps the data key; throws <see cref="ImagePassphraseException"/> when the passphrase is not the image's.</summary>
    public static ImageKey Unlock(ImagePassphrase passphrase, in ImageHeader header, in ImageKeyHeader keyHeader)
    {
        var key = new ImageKey();
        Span<byte> kek = stackalloc byte[KeyLength];
        try
        {
            passphrase.DeriveKey(keyHeader.Salt, keyHeader.Kdf, kek);
            using var wrap = new AesGcm(kek, ImageKeyHeader.TagLength);
            wrap.Decrypt(keyHeader.WrapNonce, keyHeader.WrappedKey, keyHeader.WrapTag, key._key, AssociatedData(header, keyHeader));
            return key;
        }
        catch (AuthenticationTagMismatchException)
        {
            key.Dispose();
            throw new ImagePassphraseException(
                "the passphrase is not this image's (or its header or key header was altered); nothing was read further or written")
            { Refused = true };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>A sealer for one thread (AES-GCM contexts are not shared between threads).</summary>
    public FrameSealer CreateSealer(Guid imageId) => new(_key, imageId);

    /// <summary>The image header and the key header before the wrapped key: changing either (the image id, the chunk
    /// size, the KDF cost) makes the unwrap fail, as a wrong passphrase does.</summary>
    private static byte[] AssociatedData(in ImageHeader header, in ImageKeyHeader keyHeader)
    {
        var aad = new byte[ImageHeader.Length + ImageKeyHeader.WrappedKeyOffset];
        header.Write(aad);
        Span<byte> keyBytes = stackalloc byte[ImageKeyHeader.Length];
        keyHeader.Write(keyBytes);
        keyBytes[..ImageKeyHeader.WrappedKeyOffset].CopyTo(aad.AsSpan(ImageHeader.Length));
        return aad;
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}
