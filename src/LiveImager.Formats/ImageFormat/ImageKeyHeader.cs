using System.Buffers.Binary;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The 128 bytes after an encrypted image's header (image-format.md "KeyHeader", version 4): how to turn the
/// passphrase into the key that unwraps the image's random data key, and that wrapped key. Plaintext: a reader needs
/// it to ask for the passphrase.</summary>
public readonly record struct ImageKeyHeader(KdfParameters Kdf, byte[] Salt, byte[] WrapNonce, byte[] WrappedKey, byte[] WrapTag)
{
    public const int Length = 0x80;
    public const ushort CurrentVersion = 1;
    public const int SaltLength = 16;
    public const int NonceLength = 12;
    public const int TagLength = 16;

    /// <summary>ASCII "LIMKEY\0\0".</summary>
    public static ReadOnlySpan<byte> Magic => "LIMKEY\0\0"u8;

    private const byte Argon2idV13 = 1;
    private const byte Aes256Gcm = 1;

    private const int MagicOffset = 0x00;          // image-format.md KeyHeader 0x00 magic
    private const int VersionOffset = 0x08;        // 0x08 version
    private const int LengthOffset = 0x0A;         // 0x0A header length
    private const int KdfOffset = 0x0C;            // 0x0C kdf
    private const int CipherOffset = 0x0D;         // 0x0D cipher
    private const int MemoryOffset = 0x10;         // 0x10 kdf memory (KiB)
    private const int IterationsOffset = 0x14;     // 0x14 kdf iterations
    private const int ParallelismOffset = 0x18;    // 0x18 kdf parallelism
    private const int SaltOffset = 0x20;           // 0x20 salt
    private const int NonceOffset = 0x30;          // 0x30 wrap nonce
    internal const int WrappedKeyOffset = 0x40;    // 0x40 wrapped data key
    private const int TagOffset = 0x60;            // 0x60 wrap tag
    private const int ChecksumOffset = 0x78;       // 0x78 header checksum

    private const string Structure = "image key header";

    /// <summary>Reads and validates the key header found at image offset <see cref="ImageHeader.Length"/>.</summary>
    public static ImageKeyHeader Parse(ReadOnlySpan<byte> bytes)
    {
        const long at = ImageHeader.Length;
        if (!bytes[..8].SequenceEqual(Magic))
        {
            throw new DiskFormatException(Structure, "magic", Convert.ToHexString(bytes[..8]), at + MagicOffset,
                "expected \"LIMKEY\" after the header of an encrypted image: the image is damaged");
        }
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[ChecksumOffset..]);
        ulong computed = ImageChecksum.Of(bytes[..ChecksumOffset]);
        if (stored != computed)
        {
            throw new DiskFormatException(Structure, "header checksum", $"0x{stored:x16}", at + ChecksumOffset,
                $"does not match the key header (computed 0x{computed:x16}): the key header is damaged");
        }
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[VersionOffset..]);
        if (version != CurrentVersion || BinaryPrimitives.ReadUInt16LittleEndian(bytes[LengthOffset..]) != Length)
        {
            throw new DiskFormatException(Structure, "version", version, at + VersionOffset, $"this LiveImager reads key header version {CurrentVersion} of {Length} bytes");
        }
        if (bytes[KdfOffset] != Argon2idV13 || bytes[CipherOffset] != Aes256Gcm)
        {
            throw new DiskFormatException(Structure, "kdf and cipher", $"{bytes[KdfOffset]}/{bytes[CipherOffset]}", at + KdfOffset,
                "this LiveImager knows Argon2id (1) with AES-256-GCM (1)");
        }
        var kdf = new KdfParameters(
            BinaryPrimitives.ReadInt32LittleEndian(bytes[MemoryOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[IterationsOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[ParallelismOffset..]));
        if (kdf.OutOfBounds() is { } problem)
        {
            throw new DiskFormatException(Structure, "kdf parameters", problem, at + MemoryOffset, "are out of the bounds a reader accepts");
        }
        return new ImageKeyHeader(kdf,
            bytes.Slice(SaltOffset, SaltLength).ToArray(),
            bytes.Slice(NonceOffset, NonceLength).ToArray(),
            bytes.Slice(WrappedKeyOffset, ImageKey.KeyLength).ToArray(),
            bytes.Slice(TagOffset, TagLength).ToArray());
    }

    /// <summary>Writes the key header, checksum included, into the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        Span<byte> bytes = destination[..Length];
        bytes.Clear();
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[VersionOffset..], CurrentVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[LengthOffset..], Length);
        bytes[KdfOffset] = Argon2idV13;
        bytes[CipherOffset] = Aes256Gcm;
        BinaryPrimitives.WriteInt32LittleEndian(bytes[MemoryOffset..], Kdf.MemoryKiB);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[IterationsOffset..], Kdf.Iterations);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[ParallelismOffset..], Kdf.Parallelism);
        Salt.CopyTo(bytes[SaltOffset..]);
        WrapNonce.CopyTo(bytes[NonceOffset..]);
        WrappedKey.CopyTo(bytes[WrappedKeyOffset..]);
        WrapTag.CopyTo(bytes[TagOffset..]);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[ChecksumOffset..], ImageChecksum.Of(bytes[..ChecksumOffset]));
    }
}
