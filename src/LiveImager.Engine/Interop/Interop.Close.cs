using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>close(2).</summary>
    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);
}
