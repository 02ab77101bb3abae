using System.Runtime.InteropServices;
using LiveImager.Engine.Devices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    // <asm-generic/errno-base.h>
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int ENXIO = 6;
    internal const int EACCES = 13;
    internal const int EBUSY = 16;
    internal const int EEXIST = 17;
    internal const int ENOTDIR = 20;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int ENOTTY = 25;
    internal const int EFBIG = 27;
    internal const int ENOSPC = 28;
    internal const int EROFS = 30;

    // <asm-generic/errno.h>
    internal const int ELOOP = 40;
    internal const int EOPNOTSUPP = 95;

    /// <summary>Returns <paramref name="result"/> when the call succeeded; otherwise throws the typed exception for errno.</summary>
    internal static long CheckIo(long result, string path, string operation)
    {
        if (result < 0)
        {
            throw GetExceptionForErrno(Marshal.GetLastPInvokeError(), path, operation);
        }
        return result;
    }

    /// <summary>The one place where an errno becomes an exception.</summary>
    internal static DeviceException GetExceptionForErrno(int errno, string path, string operation)
    {
        string detail = $"{operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
        return errno switch
        {
            ENOENT or ENXIO or ENODEV => new DeviceNotFoundException(path, errno, detail),
            EPERM or EACCES or EROFS => new DevicePermissionException(path, errno, detail),
            EBUSY => new DeviceBusyException(path, errno,
                $"{detail}: another process or the kernel holds it (a mounted partition, active swap, or a holder such as md, LVM or device-mapper)"),
            ENOSPC or EFBIG => new NoSpaceException(path, errno, detail),
            _ => new DeviceIoException(path, errno, detail),
        };
    }
}
