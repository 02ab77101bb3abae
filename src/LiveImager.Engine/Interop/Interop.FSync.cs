using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>fsync(2).</summary>
    [LibraryImport(Libc, EntryPoint = "fsync", SetLastError = true)]
    internal static partial int fsync(SafeFileDescriptorHandle fd);
}
