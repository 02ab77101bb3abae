namespace LiveImager.Formats.FileSystems;

/// <summary>What a partition holds, as its on-disk signature says (never as its partition type says).</summary>
public enum FileSystemKind
{
    Unknown,
    Ext2,
    Ext3,
    Ext4,
    Fat12,
    Fat16,
    Fat32,
    ExFat,
    Ntfs,
    Swap,
    Luks,
    BitLocker,
    LvmPhysicalVolume,
    Btrfs,
    Xfs,
}

/// <summary>The names of <see cref="FileSystemKind"/> in JSON, logs and the image's metadata.</summary>
public static class FileSystemKindNames
{
    public static string ToName(this FileSystemKind kind) => kind switch
    {
        FileSystemKind.Ext2 => "ext2",
        FileSystemKind.Ext3 => "ext3",
        FileSystemKind.Ext4 => "ext4",
        FileSystemKind.Fat12 => "fat12",
        FileSystemKind.Fat16 => "fat16",
        FileSystemKind.Fat32 => "fat32",
        FileSystemKind.ExFat => "exfat",
        FileSystemKind.Ntfs => "ntfs",
        FileSystemKind.Swap => "swap",
        FileSystemKind.Luks => "luks",
        FileSystemKind.BitLocker => "bitlocker",
        FileSystemKind.LvmPhysicalVolume => "lvm2-pv",
        FileSystemKind.Btrfs => "btrfs",
        FileSystemKind.Xfs => "xfs",
        _ => "unknown",
    };
}
