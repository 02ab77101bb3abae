using System.Buffers.Binary;

namespace LiveImager.Engine.Devices;

/// <summary>Finds the disks of this machine from sysfs and procfs (never by running lsblk) and says which are in use.</summary>
/// <param name="sysRoot">Where sysfs is mounted; tests pass a fixture tree.</param>
/// <param name="procRoot">Where procfs is mounted; <c>self/mountinfo</c> and <c>swaps</c> are read from it.</param>
/// <param name="devRoot">Where device nodes live; used to spell each device's path.</param>
/// <param name="bootMediumMountPoint">Where the live system mounts the medium it booted from.</param>
/// <param name="kernelCommandLine">The file holding the kernel command line, whose <c>liveimager.medium=</c> names the
/// boot medium's ISO 9660 volume id; null for <c>cmdline</c> under <paramref name="procRoot"/>.</param>
public sealed class DiskScanner(
    string sysRoot = "/sys",
    string procRoot = "/proc",
    string devRoot = "/dev",
    string bootMediumMountPoint = DiskScanner.LiveMediumMountPoint,
    string? kernelCommandLine = null)
{
    /// <summary>Where Debian live-boot mounts the boot medium.</summary>
    public const string LiveMediumMountPoint = "/run/live/medium";

    // sysfs reports sizes and partition starts in 512-byte units whatever the logical sector size (block/genhd.c).
    private const long SysfsSectorBytes = 512;
    private const int MaxMountPointsInReason = 3;

    // Not disks one images: RAM-backed and optical devices, and md/dm devices, which appear as their disks' holders.
    private static readonly string[] s_skippedPrefixes = ["ram", "zram", "sr", "fd", "md", "dm-"];

    /// <summary>Every disk with a non-zero size, ordered by name.</summary>
    public IReadOnlyList<DiskInfo> Scan()
    {
        string blockDirectory = Path.Combine(sysRoot, "block");
        if (!Directory.Exists(blockDirectory))
        {
            return [];
        }
        MountTable mounts = MountTable.Read(Path.Combine(procRoot, "self", "mountinfo"));
        IReadOnlyList<string> swaps = SwapTable.Read(Path.Combine(procRoot, "swaps"));
        string? bootMedium = mounts.Entries.LastOrDefault(entry => entry.MountPoint == bootMediumMountPoint)?.DeviceNumber;
        BootMediumProbe? probe = BootMediumProbe.From(KernelCommandLine.Read(kernelCommandLine ?? Path.Combine(procRoot, "cmdline")));
        return Directory.EnumerateFileSystemEntries(blockDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => !s_skippedPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)
            .Select(name => ReadDisk(name, mounts, swaps, bootMedium, probe))
            .OfType<DiskInfo>()
            .ToList();
    }

    /// <summary>The disk that <paramref name="deviceNumber"/> ("major:minor") is, or is a partition of; null when none.</summary>
    public DiskInfo? FindDisk(string deviceNumber) =>
        Scan().FirstOrDefault(disk => disk.DeviceNumber == deviceNumber || disk.Partitions.Any(part => part.DeviceNumber == deviceNumber));

    private DiskInfo? ReadDisk(string name, MountTable mounts, IReadOnlyList<string> swaps, string? bootMedium, BootMediumProbe? probe)
    {
        string directory = Path.Combine(sysRoot, "block", name);
        long sizeBytes = ReadLong(Path.Combine(directory, "size")) * SysfsSectorBytes;
        string? deviceNumber = ReadAttribute(Path.Combine(directory, "dev"));
        if (sizeBytes <= 0 || deviceNumber is null)
        {
            // An unattached loop or nbd device, or an empty card reader: nothing to image.
            return null;
        }
        string devicePath = ResolvedPath(directory);
        string transport = DiskTransport.FromSysfsPath(Path.GetRelativePath(sysRoot, devicePath), name);

        var partitions = new List<DiskPartition>();
        var holders = new List<string>();
        var reasons = new List<string>();
        AddUsage(name, directory, deviceNumber, mounts, swaps, holders, reasons);
        foreach (string partitionDirectory in Directory.EnumerateDirectories(directory, name + "*").Order(StringComparer.Ordinal))
        {
            string partitionName = Path.GetFileName(partitionDirectory);
            string? partitionNumber = ReadAttribute(Path.Combine(partitionDirectory, "dev"));
            if (!File.Exists(Path.Combine(partitionDirectory, "partition")) || partitionNumber is null)
            {
                continue;
            }
            partitions.Add(new DiskPartition(
                partitionName,
                DevicePath(partitionName),
                partitionNumber,
                (int)ReadLong(Path.Combine(partitionDirectory, "partition")),
                ReadLong(Path.Combine(partitionDirectory, "start")) * SysfsSectorBytes,
                ReadLong(Path.Combine(partitionDirectory, "size")) * SysfsSectorBytes,
                MountPointsOf(partitionName, partitionNumber, mounts).FirstOrDefault()));
            AddUsage(partitionName, partitionDirectory, partitionNumber, mounts, swaps, holders, reasons);
        }
        partitions.Sort((left, right) => left.Number.CompareTo(right.Number));

        bool isBootMedium = bootMedium is not null
            && (bootMedium == deviceNumber || partitions.Any(partition => partition.DeviceNumber == bootMedium));
        if (isBootMedium)
        {
            reasons.Add($"{name} holds the live system's boot medium ({bootMediumMountPoint})");
        }
        else if (probe is not null && probe.Matches(DevicePath(name)))
        {
            // A "to RAM" boot unmounts the medium; its ISO volume id still names it.
            isBootMedium = true;
            reasons.Add($"{name} is the live system's boot medium (ISO volume {probe.VolumeId})");
        }

        return new DiskInfo(
            name,
            DevicePath(name),
            deviceNumber,
            sizeBytes,
            (int)ReadLong(Path.Combine(directory, "queue", "logical_block_size"), 512),
            (int)ReadLong(Path.Combine(directory, "queue", "physical_block_size"), 512),
            ReadLong(Path.Combine(directory, "queue", "rotational")) == 1,
            ReadLong(Path.Combine(directory, "removable")) == 1,
            ReadLong(Path.Combine(directory, "ro")) == 1,
            transport,
            ReadVendor(directory),
            transport == DiskTransport.Loop ? ReadAttribute(Path.Combine(directory, "loop", "backing_file")) : ReadModel(directory),
            ReadSerial(directory, devicePath),
            ReadWwn(directory),
            partitions,
            holders,
            reasons.Count > 0,
            reasons.Count > 0 ? string.Join("; ", reasons) : null,
            isBootMedium);
    }

    // The reasons a disk or one of its partitions cannot be written: mounted, active swap, or held by md/dm.
    private void AddUsage(string name, string directory, string deviceNumber, MountTable mounts, IReadOnlyList<string> swaps,
        List<string> holders, List<string> reasons)
    {
        List<string> mountPoints = MountPointsOf(name, deviceNumber, mounts);
        if (mountPoints.Count > 0)
        {
            string shown = string.Join(", ", mountPoints.Take(MaxMountPointsInReason));
            string more = mountPoints.Count > MaxMountPointsInReason ? $" and {mountPoints.Count - MaxMountPointsInReason} more" : "";
            reasons.Add($"{name} is mounted at {shown}{more}");
        }
        if (swaps.Any(swap => swap == DevicePath(name) || swap == $"/dev/{name}"))
        {
            reasons.Add($"{name} is active swap");
        }
        string holdersDirectory = Path.Combine(directory, "holders");
        if (Directory.Exists(holdersDirectory))
        {
            foreach (string holder in Directory.EnumerateFileSystemEntries(holdersDirectory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
            {
                string described = DescribeHolder(holder);
                holders.Add(described);
                reasons.Add($"{name} is held by {described}");
            }
        }
    }

    private List<string> MountPointsOf(string name, string deviceNumber, MountTable mounts) =>
        mounts.Entries
            .Where(entry => entry.DeviceNumber == deviceNumber || entry.Source == DevicePath(name))
            .Select(entry => entry.MountPoint)
            .Distinct()
            .ToList();

    // "md0 (raid1)", "dm-0 (LVM vg0-root)", "dm-2 (luks-…)": enough for a technician to recognise the stack.
    private string DescribeHolder(string holder)
    {
        string directory = Path.Combine(sysRoot, "block", holder);
        string? level = ReadAttribute(Path.Combine(directory, "md", "level"));
        if (level is not null)
        {
            return $"{holder} ({level})";
        }
        string? mapperName = ReadAttribute(Path.Combine(directory, "dm", "name"));
        if (mapperName is not null)
        {
            bool isLvm = ReadAttribute(Path.Combine(directory, "dm", "uuid"))?.StartsWith("LVM-", StringComparison.Ordinal) == true;
            return isLvm ? $"{holder} (LVM {mapperName})" : $"{holder} ({mapperName})";
        }
        return holder;
    }

    private static string? ReadVendor(string directory)
    {
        // virtio and mmc report a PCI vendor id or manufacturer number here, which names nothing to a technician.
        string? vendor = ReadAttribute(Path.Combine(directory, "device", "vendor"));
        return vendor is null || vendor.StartsWith("0x", StringComparison.Ordinal) ? null : vendor;
    }

    private static string? ReadModel(string directory) =>
        ReadAttribute(Path.Combine(directory, "device", "model")) ?? ReadAttribute(Path.Combine(directory, "device", "name"));

    private string? ReadSerial(string directory, string devicePath) =>
        ReadAttribute(Path.Combine(directory, "serial"))
        ?? ReadAttribute(Path.Combine(directory, "device", "serial"))
        ?? ReadVpdSerial(Path.Combine(directory, "device", "vpd_pg80"))
        ?? ReadUsbSerial(devicePath);

    // SPC-4 7.8.16 Unit Serial Number VPD page (0x80): byte 1 page code, bytes 2-3 page length (big-endian), then ASCII.
    private static string? ReadVpdSerial(string path)
    {
        const int PageCodeOffset = 0x01;
        const int PageLengthOffset = 0x02;
        const int SerialOffset = 0x04;
        const byte UnitSerialNumberPage = 0x80;
        byte[] page;
        try
        {
            page = File.Exists(path) ? File.ReadAllBytes(path) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (page.Length < SerialOffset || page[PageCodeOffset] != UnitSerialNumberPage)
        {
            return null;
        }
        int length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(page.AsSpan(PageLengthOffset)), page.Length - SerialOffset);
        string serial = System.Text.Encoding.ASCII.GetString(page, SerialOffset, length).Trim(' ', '\0');
        return serial.Length > 0 ? serial : null;
    }

    // A USB disk's serial belongs to the USB device, an ancestor of the SCSI disk in the sysfs tree.
    private string? ReadUsbSerial(string devicePath)
    {
        string devicesRoot = Path.GetFullPath(Path.Combine(sysRoot, "devices"));
        for (string? directory = Path.GetDirectoryName(devicePath);
             directory is not null && directory.StartsWith(devicesRoot, StringComparison.Ordinal);
             directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(Path.Combine(directory, "idVendor")))
            {
                return ReadAttribute(Path.Combine(directory, "serial"));
            }
        }
        return null;
    }

    // NVMe namespaces have "wwid" beside "size"; SCSI and ATA disks under "device". Only NAA and EUI ids are WWNs;
    // "t10.ATA …" strings just repeat model and serial.
    private static string? ReadWwn(string directory)
    {
        string? wwid = ReadAttribute(Path.Combine(directory, "wwid")) ?? ReadAttribute(Path.Combine(directory, "device", "wwid"));
        if (wwid is null)
        {
            return null;
        }
        if (wwid.StartsWith("naa.", StringComparison.Ordinal))
        {
            return "0x" + wwid["naa.".Length..];
        }
        return wwid.StartsWith("eui.", StringComparison.Ordinal) ? wwid : null;
    }

    private string DevicePath(string name) => $"{devRoot}/{name}";

    private static string ResolvedPath(string path)
    {
        FileSystemInfo? target = new DirectoryInfo(path).ResolveLinkTarget(returnFinalTarget: true);
        return target?.FullName ?? Path.GetFullPath(path);
    }

    private static string? ReadAttribute(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }
            string value = File.ReadAllText(path).Trim();
            return value.Length > 0 ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Some attributes (vpd pages, wwid of a gone device) are unreadable; an absent value is the honest answer.
            return null;
        }
    }

    private static long ReadLong(string path, long absent = 0) =>
        long.TryParse(ReadAttribute(path), out long value) ? value : absent;
}
