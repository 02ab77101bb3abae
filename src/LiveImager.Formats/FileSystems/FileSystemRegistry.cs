namespace LiveImager.Formats.FileSystems;

/// <summary>The filesystem modules, in probe order. An explicit list: no reflection, so NativeAOT sees every module.</summary>
public static class FileSystemRegistry
{
    /// <summary>Modules tried in order; the first whose signature matches analyses the partition.</summary>
    public static IReadOnlyList<IFileSystemModule> Modules { get; } =
    [
        // Opaque volumes first: a BitLocker boot sector also carries a FAT32-like BPB ("NO NAME", "FAT32   ").
        new Opaque.LuksModule(),
        new Opaque.BitLockerModule(),
        new Lvm.LvmModule(),
        new Swap.SwapModule(),
        new Ext.ExtModule(),
        // btrfs's signature is at 64 KiB; mkfs.btrfs and mke2fs each wipe the other's, so the order against ext is moot.
        new Btrfs.BtrfsModule(),
        new Xfs.XfsModule(),
        new Ntfs.NtfsModule(),
        new ExFat.ExFatModule(),
        // FAT last among boot-sector formats: its signature is the weakest (a BPB that makes sense).
        new Fat.FatModule(),
    ];
}
