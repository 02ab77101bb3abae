namespace LiveImager.Engine.Devices;

/// <summary>What stat(2) says about a path: its type, and for a device node the major:minor it stands for.</summary>
internal readonly record struct DeviceNode(bool IsBlockDevice, bool IsRegularFile, uint Major, uint Minor, long Size)
{
    /// <summary>"major:minor", the spelling sysfs and mountinfo use.</summary>
    public string DeviceNumber => $"{Major}:{Minor}";

    /// <summary>Stats <paramref name="path"/>, following symbolic links (/dev/disk/by-id/... names work).</summary>
    public static DeviceNode Stat(string path) => From(Interop.stat(path));

    /// <summary>Stats an open descriptor.</summary>
    public static DeviceNode FStat(SafeFileDescriptorHandle handle, string path) => From(Interop.fstat(handle, path));

    private static DeviceNode From(Interop.StatResult stat)
    {
        uint type = stat.Mode & Interop.S_IFMT;
        // glibc's dev_t encoding (gnu_dev_major/gnu_dev_minor): 12 bits of major and 20 of minor, split across the word.
        ulong rdev = stat.RDev;
        uint major = (uint)(((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~0xfffUL));
        uint minor = (uint)((rdev & 0xff) | ((rdev >> 12) & ~0xffUL));
        return new DeviceNode(type == Interop.S_IFBLK, type == Interop.S_IFREG, major, minor, stat.Size);
    }
}
