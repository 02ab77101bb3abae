namespace LiveImager.Formats.FileSystems.Opaque;

/// <summary>BitLocker encrypted volumes (Windows Vista and later, and BitLocker To Go): named, and copied whole.</summary>
/// <remarks>A fixed-disk volume's boot sector replaces NTFS's OEM name with "-FVE-FS-". A BitLocker To Go volume keeps a
/// FAT32 boot sector whose FAT calls the encrypted data free, so it must be recognised before the FAT module sees it:
/// its boot sector carries BitLocker's GUID instead. Either way the filesystem inside is encrypted.</remarks>
public sealed class BitLockerModule : IFileSystemModule
{
    private const int SignatureOffset = 0x03;   // BitLocker volume header: signature[8] where NTFS has its OEM name
    private const int GuidOffset = 0xA0;        // BitLocker volume header (Windows 7+): volume GUID
    private const int ToGoGuidOffset = 0x1A8;   // BitLocker To Go boot sector: volume GUID after the FAT32 boot code

    private static ReadOnlySpan<byte> Signature => "-FVE-FS-"u8;

    // 4967d63b-2e29-4ad8-8399-f6a339e3d001 as it is stored on disk (mixed-endian GUID).
    private static ReadOnlySpan<byte> BitLockerGuid =>
        [0x3B, 0xD6, 0x67, 0x49, 0x29, 0x2E, 0xD8, 0x4A, 0x83, 0x99, 0xF6, 0xA3, 0x39, 0xE3, 0xD0, 0x01];

    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        Has(head, SignatureOffset, Signature) || Has(head, GuidOffset, BitLockerGuid) || Has(head, ToGoGuidOffset, BitLockerGuid)
            ? FileSystemKind.BitLocker
            : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition) =>
        FileSystemAnalysis.WholeCopy(FileSystemKind.BitLocker, partition.Length, "BitLocker encrypted volume");

    private static bool Has(ReadOnlySpan<byte> head, int offset, ReadOnlySpan<byte> value) =>
        head.Length >= offset + value.Length && head.Slice(offset, value.Length).SequenceEqual(value);
}
