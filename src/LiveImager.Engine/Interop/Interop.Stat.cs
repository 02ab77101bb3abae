using Mono.Unix.Native;

namespace LiveImager.Engine;

internal static partial class Interop
{
    // <sys/stat.h> file types (st_mode & S_IFMT).
    internal const uint S_IFMT = 0xF000;
    internal const uint S_IFBLK = 0x6000;
    internal const uint S_IFREG = 0x8000;
    internal const uint S_IFDIR = 0x4000;
    internal const uint S_IFLNK = 0xA000;

    /// <summary>What the Engine reads of a struct stat; <paramref name="Blocks"/> is st_blocks, 512-byte units allocated.</summary>
    internal readonly record struct StatResult(uint Mode, ulong RDev, long Size, long Blocks);

    /// <summary>stat(2), following symbolic links. Mono.Unix carries the struct layout and glibc's symbol versions.</summary>
    internal static StatResult stat(string path, string operation = "stat") =>
        ToResult(Syscall.stat(path, out Stat buf), buf, path, operation);

    /// <summary>lstat(2): the entry itself, a symbolic link not followed.</summary>
    internal static StatResult lstat(string path, string operation = "lstat") =>
        ToResult(Syscall.lstat(path, out Stat buf), buf, path, operation);

    /// <summary>fstat(2) of an open descriptor; <paramref name="path"/> only names it in an error.</summary>
    internal static StatResult fstat(SafeFileDescriptorHandle handle, string path)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return ToResult(Syscall.fstat(handle.Descriptor, out Stat buf), buf, path, "fstat");
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static StatResult ToResult(int result, Stat buf, string path, string operation) =>
        result < 0
            ? throw GetExceptionForErrno(NativeConvert.FromErrno(Stdlib.GetLastError()), path, operation)
            : new StatResult((uint)buf.st_mode, buf.st_rdev, buf.st_size, buf.st_blocks);
}
