using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>unlinkat(2) with flags 0: removes the name <paramref name="pathname"/> in <paramref name="dirfd"/>; a
    /// symbolic link is removed itself, never its target.</summary>
    [LibraryImport(Libc, EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int unlinkat(SafeFileHandle dirfd, string pathname, int flags);
}
