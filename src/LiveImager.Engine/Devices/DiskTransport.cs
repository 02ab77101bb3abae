namespace LiveImager.Engine.Devices;

/// <summary>The names <see cref="DiskInfo.Transport"/> takes, as lsblk spells them.</summary>
public static class DiskTransport
{
    public const string Nvme = "nvme";
    public const string Sata = "sata";
    public const string Sas = "sas";
    public const string Scsi = "scsi";
    public const string Usb = "usb";
    public const string Mmc = "mmc";
    public const string Virtio = "virtio";
    public const string Loop = "loop";
    public const string Nbd = "nbd";
    public const string Unknown = "unknown";

    /// <summary>Derives the transport from the device's resolved sysfs path (below /sys/devices) and its name.</summary>
    /// <remarks>USB is checked first: a USB disk also sits under a SCSI host, and a USB card reader under mmc-like names.</remarks>
    public static string FromSysfsPath(string devicePath, string name)
    {
        string path = devicePath.Replace('\\', '/') + "/";
        if (name.StartsWith("loop", StringComparison.Ordinal))
        {
            return Loop;
        }
        if (name.StartsWith("nbd", StringComparison.Ordinal))
        {
            return Nbd;
        }
        if (path.Contains("/usb", StringComparison.Ordinal))
        {
            return Usb;
        }
        if (path.Contains("/nvme/", StringComparison.Ordinal) || name.StartsWith("nvme", StringComparison.Ordinal))
        {
            return Nvme;
        }
        if (path.Contains("/mmc_host/", StringComparison.Ordinal) || name.StartsWith("mmcblk", StringComparison.Ordinal))
        {
            return Mmc;
        }
        if (path.Contains("/ata", StringComparison.Ordinal))
        {
            return Sata;
        }
        if (path.Contains("/end_device-", StringComparison.Ordinal))
        {
            return Sas;
        }
        if (path.Contains("/virtio", StringComparison.Ordinal) && !path.Contains("/target", StringComparison.Ordinal))
        {
            return Virtio;
        }
        if (path.Contains("/target", StringComparison.Ordinal))
        {
            return Scsi;
        }
        return Unknown;
    }
}
