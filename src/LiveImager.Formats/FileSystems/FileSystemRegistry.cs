namespace LiveImager.Formats.FileSystems;

/// <summary>The filesystem modules, in probe order. An explicit list: no reflection, so NativeAOT sees every module.</summary>
public static class FileSystemRegistry
{
    /// <summary>Modules tried in order; the first whose signature matches analyses the partition.</summary>
    public static IReadOnlyList<IFileSystemModule> Modules { get; } =
    [
        // Encrypted and container volumes first: a BitLocker volume's boot sector also looks like NTFS or FAT.
        new Opaque.LuksModule(),
        new Opaque.BitLockerModule(),
        new Opaque.LvmModule(),
        new Swap.SwapModule(),
        new Ext.ExtFileSystem(),
        new Ntfs.NtfsModule(),
        new ExFat.ExFatModule(),
        // FAT last among boot-sector formats: its signature is the weakest (a BPB that makes sense).
        new Fat.FatModule(),
    ];
}
