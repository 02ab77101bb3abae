namespace LiveImager.Formats.FileSystems.Opaque;

/// <summary>BitLocker encrypted volumes (Windows Vista and later): named, and copied whole.</summary>
/// <remarks>The volume's boot sector replaces NTFS's OEM name with "-FVE-FS-"; the NTFS inside, its bitmap included,
/// is encrypted. BitLocker To Go volumes, which keep a FAT boot sector, are not recognised here.</remarks>
public sealed class BitLockerModule : IFileSystemModule
{
    private const int SignatureOffset = 0x03; // BitLocker volume header: signature[8] where NTFS has its OEM name

    private static ReadOnlySpan<byte> Signature => "-FVE-FS-"u8;

    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        head.Length >= SignatureOffset + Signature.Length && head.Slice(SignatureOffset, Signature.Length).SequenceEqual(Signature)
            ? FileSystemKind.BitLocker
            : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition) =>
        FileSystemAnalysis.WholeCopy(FileSystemKind.BitLocker, partition.Length, "BitLocker encrypted volume");
}
