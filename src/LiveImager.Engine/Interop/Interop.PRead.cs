using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>pread(2): reads at an offset without moving a shared file position, so threads can share a descriptor.</summary>
    [LibraryImport(Libc, EntryPoint = "pread", SetLastError = true)]
    internal static unsafe partial nint pread(SafeFileDescriptorHandle fd, byte* buf, nuint count, long offset);
}
