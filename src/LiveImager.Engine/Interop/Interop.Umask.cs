using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    /// <summary>umask(2): sets the process's file mode creation mask and returns the previous one; cannot fail.</summary>
    [LibraryImport(Libc, EntryPoint = "umask")]
    internal static partial int umask(int mask);
}
