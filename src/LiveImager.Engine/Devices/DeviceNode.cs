using Mono.Unix.Native;

namespace LiveImager.Engine.Devices;

/// <summary>What stat(2) says about a path: its type, and for a device node the major:minor it stands for.</summary>
internal readonly record struct DeviceNode(bool IsBlockDevice, bool IsRegularFile, uint Major, uint Minor, long Size)
{
    /// <summary>"major:minor", the spelling sysfs and mountinfo use.</summary>
    public string DeviceNumber => $"{Major}:{Minor}";

    /// <summary>Stats <paramref name="path"/>, following symbolic links (/dev/disk/by-id/... names work).</summary>
    public static DeviceNode Stat(string path) => From(Syscall.stat(path, out Stat buf), buf, path, "stat");

    /// <summary>Stats an open descriptor.</summary>
    public static DeviceNode FStat(SafeFileDescriptorHandle handle, string path)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return From(Syscall.fstat(handle.Descriptor, out Stat buf), buf, path, "fstat");
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static DeviceNode From(int result, Stat buf, string path, string operation)
    {
        if (result < 0)
        {
            throw Interop.GetExceptionForErrno(NativeConvert.FromErrno(Stdlib.GetLastError()), path, operation);
        }
        FilePermissions type = buf.st_mode & FilePermissions.S_IFMT;
        // glibc's dev_t encoding (gnu_dev_major/gnu_dev_minor): 12 bits of major and 20 of minor, split across the word.
        ulong rdev = buf.st_rdev;
        uint major = (uint)(((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~0xfffUL));
        uint minor = (uint)((rdev & 0xff) | ((rdev >> 12) & ~0xffUL));
        return new DeviceNode(type == FilePermissions.S_IFBLK, type == FilePermissions.S_IFREG, major, minor, buf.st_size);
    }
}
