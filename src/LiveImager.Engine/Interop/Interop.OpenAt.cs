using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LiveImager.Engine;

internal static partial class Interop
{
    // <asm-generic/fcntl.h> as x86-64 uses it (octal in the header).
    internal const int O_WRONLY = 0x1;
    internal const int O_DIRECTORY = 0x10000;
    internal const int O_NOFOLLOW = 0x20000;

    /// <summary>openat(2): <paramref name="pathname"/> relative to the directory <paramref name="dirfd"/>. With
    /// <see cref="O_NOFOLLOW"/> a symbolic link as the last component fails with ELOOP instead of being followed.</summary>
    [LibraryImport(Libc, EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileHandle openat(SafeFileHandle dirfd, string pathname, int flags, int mode);

    /// <summary>openat(2) with AT_FDCWD: a path resolved as open(2) would, for a directory handle to walk from.</summary>
    [LibraryImport(Libc, EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileHandle openat(int dirfd, string pathname, int flags, int mode);

    /// <summary>The dirfd meaning "the working directory" (fcntl.h AT_FDCWD).</summary>
    internal const int AT_FDCWD = -100;
}
