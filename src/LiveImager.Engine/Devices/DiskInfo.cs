namespace LiveImager.Engine.Devices;

/// <summary>One whole disk as sysfs and procfs describe it, with whether anything on it is in use and why.</summary>
/// <param name="Name">Kernel name: sda, nvme0n1, mmcblk0, vda, loop0.</param>
/// <param name="Path">Device node, e.g. /dev/sda.</param>
/// <param name="DeviceNumber">"major:minor" as sysfs and mountinfo spell it.</param>
/// <param name="Transport">How it is attached; one of the <see cref="DiskTransport"/> names.</param>
/// <param name="Model">The model string; for a loop device, its backing file.</param>
/// <param name="Wwn">World-wide name (0x… for NAA, eui.… for NVMe), when the device reports one.</param>
/// <param name="Holders">Devices stacked on the disk or its partitions (md, device-mapper/LVM), described.</param>
/// <param name="InUseReason">Every reason it is in use, joined by "; "; null when not in use.</param>
/// <param name="IsBootMedium">True when the live system booted from it; never a restore target.</param>
public sealed record DiskInfo(
    string Name,
    string Path,
    string DeviceNumber,
    long SizeBytes,
    int LogicalSectorSize,
    int PhysicalSectorSize,
    bool Rotational,
    bool Removable,
    bool ReadOnly,
    string Transport,
    string? Vendor,
    string? Model,
    string? Serial,
    string? Wwn,
    IReadOnlyList<DiskPartition> Partitions,
    IReadOnlyList<string> Holders,
    bool InUse,
    string? InUseReason,
    bool IsBootMedium);

/// <summary>One partition of a <see cref="DiskInfo"/> as the kernel sees it.</summary>
/// <param name="Name">Kernel name: sda1, nvme0n1p1, mmcblk0p1, loop0p1.</param>
/// <param name="MountPoint">Where it is mounted (the first mount, when several); null when not mounted.</param>
public sealed record DiskPartition(string Name, string Path, string DeviceNumber, int Number, long StartBytes, long SizeBytes, string? MountPoint);
