using System.Runtime.InteropServices;

namespace LiveImager.Engine;

internal static partial class Interop
{
    // <asm-generic/fcntl.h> as x86-64 uses it (octal in the header).
    internal const int O_RDONLY = 0x0;
    internal const int O_RDWR = 0x2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_DIRECT = 0x4000;
    internal const int O_CLOEXEC = 0x80000;

    /// <summary>open(2). Variadic in C; the mode travels in the register a plain int argument uses on x86-64.</summary>
    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileDescriptorHandle open(string pathname, int flags, int mode);
}
