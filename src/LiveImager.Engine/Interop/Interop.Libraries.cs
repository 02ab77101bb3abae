namespace LiveImager.Engine;

/// <summary>Linux system calls the Engine makes itself, one file per call; names and constants keep their C spelling.</summary>
/// <remarks>The constants are those of x86-64 Linux, the only platform the product ships for (linux-x64).</remarks>
internal static partial class Interop
{
    // The runtime maps "libc" to the platform's C library (libc.so.6 here); NativeAOT binds it at link time.
    private const string Libc = "libc";
}
