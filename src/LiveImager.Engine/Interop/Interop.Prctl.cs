using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    // <linux/prctl.h>
    internal const int PR_GET_DUMPABLE = 3;
    internal const int PR_SET_DUMPABLE = 4;

    /// <summary>prctl(2) with one argument (the others zero): returns -1 and sets errno on failure.</summary>
    [LibraryImport(Libc, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
