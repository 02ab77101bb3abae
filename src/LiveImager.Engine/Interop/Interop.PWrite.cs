using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>pwrite(2).</summary>
    [LibraryImport(Libc, EntryPoint = "pwrite", SetLastError = true)]
    internal static unsafe partial nint pwrite(SafeFileDescriptorHandle fd, byte* buf, nuint count, long offset);
}
