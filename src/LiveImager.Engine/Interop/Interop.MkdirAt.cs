using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>mkdirat(2): creates <paramref name="pathname"/> in <paramref name="dirfd"/> with
    /// <paramref name="mode"/> less the umask; fails with EEXIST when anything (a link too) has that name.</summary>
    [LibraryImport(Libc, EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mkdirat(SafeFileHandle dirfd, string pathname, int mode);
}
