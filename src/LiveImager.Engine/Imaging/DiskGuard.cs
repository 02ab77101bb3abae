using LiveImager.Engine.Devices;

namespace LiveImager.Engine.Imaging;

/// <summary>DESIGN.md invariant 2 for the imaging jobs: a disk in use is neither captured nor restored onto, a partition
/// is not taken for a disk, and the medium the live system booted from is never a restore target.</summary>
internal static class DiskGuard
{
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
