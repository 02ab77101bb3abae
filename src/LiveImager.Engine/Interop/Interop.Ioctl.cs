using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    // <uapi/asm-generic/ioctl.h>: nr in bits 0-7, type in 8-15, size in 16-29, direction in 30-31.
    private const int _IOC_NRSHIFT = 0;
    private const int _IOC_TYPESHIFT = 8;
    private const int _IOC_SIZESHIFT = 16;
    private const int _IOC_DIRSHIFT = 30;
    private const uint _IOC_NONE = 0;
    private const uint _IOC_READ = 2;

    private static nuint _IOC(uint dir, uint type, uint nr, uint size) =>
        (dir << _IOC_DIRSHIFT) | (type << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT) | (size << _IOC_SIZESHIFT);

    private static nuint _IO(uint type, uint nr) => _IOC(_IOC_NONE, type, nr, 0);

    private static unsafe nuint _IOR<T>(uint type, uint nr) where T : unmanaged => _IOC(_IOC_READ, type, nr, (uint)sizeof(T));

    // <uapi/linux/fs.h>; the values agree with the header (BLKGETSIZE64 = 0x80081272, BLKSSZGET = 0x1268, ...).
    internal static readonly nuint BLKROSET = _IO(0x12, 93);
    internal static readonly nuint BLKROGET = _IO(0x12, 94);
    internal static readonly nuint BLKRRPART = _IO(0x12, 95);
    internal static readonly nuint BLKFLSBUF = _IO(0x12, 97);
    internal static readonly nuint BLKSSZGET = _IO(0x12, 104);
    internal static readonly nuint BLKGETSIZE64 = _IOR<nuint>(0x12, 114);
    internal static readonly nuint BLKDISCARD = _IO(0x12, 119);
    internal static readonly nuint BLKPBSZGET = _IO(0x12, 123);
    internal static readonly nuint BLKZEROOUT = _IO(0x12, 127);

    /// <summary>ioctl(2) with a pointer argument (or none: pass null).</summary>
    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    internal static unsafe partial int ioctl(SafeFileDescriptorHandle fd, nuint request, void* argp);
}
