using LiveImager.Engine.Devices;
using LiveImager.Formats;

namespace LiveImager.Engine.Imaging;

/// <summary>What <c>inspect</c> shows: a disk's or disk image file's table and filesystems, read as a capture reads
/// them (<see cref="BlockDevice"/>, <see cref="DiskLayout"/>) but without claiming the disk, so a disk in use can be
/// looked at.</summary>
/// <param name="SectorSize">The logical sector size the table was read with.</param>
public sealed record DiskInspection(DiskLayout Layout, int SectorSize)
{
    /// <summary>The sector size of a disk image file when none is given.</summary>
    public const int DefaultFileSectorSize = 512;

    /// <param name="fileSectorSize">A disk image file's logical sector size; a device's own is always used, and a
    /// different one given for a device is refused.</param>
    /// <exception cref="DiskFormatException">The partition table is corrupt.</exception>
    /// <exception cref="ImagingException">A sector size was given that the device does not have.</exception>
    public static DiskInspection Read(string path, int? fileSectorSize)
    {
        using BlockDevice device = BlockDevice.OpenRead(path, exclusive: false);
        if (device.IsBlockDevice && fileSectorSize is { } requested && requested != device.LogicalSectorSize)
        {
            throw new ImagingException(
                $"{path} has {device.LogicalSectorSize}-byte logical sectors; a sector size of {requested} does not apply to a device");
        }
        int sectorSize = device.IsBlockDevice ? device.LogicalSectorSize : fileSectorSize ?? DefaultFileSectorSize;
        return new DiskInspection(DiskLayout.Analyze(device, sectorSize), sectorSize);
    }
}
