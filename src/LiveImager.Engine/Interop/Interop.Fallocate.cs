using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    // <linux/falloc.h>
    internal const int FALLOC_FL_KEEP_SIZE = 0x01;
    internal const int FALLOC_FL_PUNCH_HOLE = 0x02;

    /// <summary>fallocate(2).</summary>
    [LibraryImport(Libc, EntryPoint = "fallocate", SetLastError = true)]
    internal static partial int fallocate(SafeFileDescriptorHandle fd, int mode, long offset, long len);
}
