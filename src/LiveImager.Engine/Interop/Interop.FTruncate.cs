using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>ftruncate(2).</summary>
    [LibraryImport(Libc, EntryPoint = "ftruncate", SetLastError = true)]
    internal static partial int ftruncate(SafeFileDescriptorHandle fd, long length);
}
