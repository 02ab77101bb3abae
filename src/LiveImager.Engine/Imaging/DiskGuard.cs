using LiveImager.Engine.Devices;

namespace LiveImager.Engine.Imaging;

/// <summary>Invariant 2 (ARCHITECTURE.md), the one in-use guard: a disk in use is neither captured, compared nor
/// restored onto, a partition is not taken for a disk, and the medium the live system booted from is never a restore
/// target. Every job opens its disks through <see cref="OpenSource"/> or <see cref="OpenTarget"/>, so the check, its
/// exception (<see cref="ImagingException"/>) and its wording are the same everywhere; O_EXCL on the open is the
/// kernel's backstop for a claim made after the check.</summary>
internal static class DiskGuard
{
    /// <summary>Checks <paramref name="path"/> as a source (<see cref="CheckSource"/>) and opens it for reading.</summary>
    public static BlockDevice OpenSource(string path, DiskScanner scanner, out DiskInfo? disk)
    {
        disk = CheckSource(path, scanner);
        return BlockDevice.OpenRead(path);
    }

    /// <summary>Checks <paramref name="path"/> as a target (<see cref="CheckTarget"/>) and opens it for writing.</summary>
    public static BlockDevice OpenTarget(string path, DiskScanner scanner)
    {
        CheckTarget(path, scanner);
        return BlockDevice.OpenWrite(path);
    }

    /// <summary>The disk <paramref name="path"/> names, or null for a regular file (an image file needs no guard).</summary>
    /// <exception cref="ImagingException">The path is a partition, or the disk is in use.</exception>
    public static DiskInfo? CheckSource(string path, DiskScanner scanner) => Check(path, scanner, "capture");

    /// <inheritdoc cref="CheckSource"/>
    /// <exception cref="ImagingException">Also when the disk is the boot medium.</exception>
    public static DiskInfo? CheckTarget(string path, DiskScanner scanner)
    {
        DiskInfo? disk = Check(path, scanner, "restore onto");
        if (disk is { IsBootMedium: true })
        {
            throw new ImagingException($"{path} is the medium this live system booted from; it is never a restore target");
        }
        return disk;
    }

    private static DiskInfo? Check(string path, DiskScanner scanner, string action)
    {
        DeviceNode node;
        try
        {
            node = DeviceNode.Stat(path);
        }
        catch (DeviceNotFoundException)
        {
            return null;
        }
        if (!node.IsBlockDevice)
        {
            return null;
        }
        DiskInfo? disk = scanner.FindDisk(node.DeviceNumber);
        if (disk is null)
        {
            return null;
        }
        if (disk.DeviceNumber != node.DeviceNumber)
        {
            throw new ImagingException($"{path} is a partition of {disk.Path}; {action} the whole disk {disk.Path}");
        }
        if (disk.InUse)
        {
            throw new ImagingException($"{path} is in use ({disk.InUseReason}); unmount it, turn its swap off or stop its holders first");
        }
        return disk;
    }
}
