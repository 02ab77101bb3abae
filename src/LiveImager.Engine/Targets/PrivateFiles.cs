using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LiveImager.Engine.Targets;

/// <summary>Every file the tool creates is mode 0600 and every directory 0700, set by the creating call itself, and
/// none is ever written through a symbolic link: a store's server decides what its directory holds, links included,
/// and sshfs, NFS and SMB hand those links to the live system, which would resolve them as root (docs/security.md).</summary>
public static class PrivateFiles
{
    /// <summary>rw for the owner (root) only.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>rwx for the owner (root) only.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Makes the process's umask 077, so that what any library or child creates is private too (the Serilog
    /// sink's log files, a tool's temporary files). Called once at start.</summary>
    public static void RestrictUmask() => Interop.umask(0b000_111_111);

    /// <summary>Creates <paramref name="path"/> and any missing parent with mode 0700 (those that exist keep theirs).</summary>
    public static void CreateDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("LiveImager runs on Linux only");
        }
        Directory.CreateDirectory(path, DirectoryMode);
    }

    /// <summary>Makes the file a library just created 0600 before it writes to it: through its descriptor when the
    /// library shows it, else by <paramref name="path"/> (in a directory of the tool's own, 0700).</summary>
    public static void Restrict(string path, Stream opened)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("LiveImager runs on Linux only");
        }
        if (opened is FileStream file)
        {
            File.SetUnixFileMode(file.SafeFileHandle, FileMode);
        }
        else
        {
            File.SetUnixFileMode(path, FileMode);
        }
    }

    /// <summary>Creates <paramref name="path"/>, which must not exist, with mode 0600, for writing. Anything in its place,
    /// a symbolic link included (even one to nowhere), is refused rather than followed (O_CREAT | O_EXCL | O_NOFOLLOW).</summary>
    public static FileStream CreateNew(string path)
    {
        SafeFileHandle handle = Interop.openat(Interop.AT_FDCWD, path,
            Interop.O_WRONLY | Interop.O_CREAT | Interop.O_EXCL | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, (int)FileMode);
        return Stream(handle, path);
    }

    /// <summary>Opens the directory <paramref name="name"/> in <paramref name="parent"/>, creating it with mode 0700 if
    /// it is missing; a symbolic link of that name is refused, never followed.</summary>
    public static PrivateDirectory OpenDirectory(string parent, string name)
    {
        CheckName(name);
        using SafeFileHandle parentHandle = Interop.openat(Interop.AT_FDCWD, parent, Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_CLOEXEC, 0);
        Check(parentHandle, parent, "open");
        if (Interop.mkdirat(parentHandle, name, (int)DirectoryMode) < 0 && Marshal.GetLastPInvokeError() is int errno && errno != Interop.EEXIST)
        {
            throw Interop.GetExceptionForErrno(errno, Path.Combine(parent, name), "mkdir");
        }
        string path = Path.Combine(parent, name);
        SafeFileHandle handle = Interop.openat(parentHandle, name, Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, 0);
        Check(handle, path, "open");
        return new PrivateDirectory(handle, path);
    }

    internal static FileStream Stream(SafeFileHandle handle, string path)
    {
        Check(handle, path, "create");
        return new FileStream(handle, FileAccess.Write, bufferSize: 0);
    }

    internal static void CheckName(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/') || name.Contains('\0'))
        {
            throw new ArgumentException($"'{name}' is not a file name", nameof(name));
        }
    }

    /// <summary>Turns a failed open into the message a technician needs: a link refused, a name already taken.</summary>
    internal static void Check(SafeFileHandle handle, string path, string operation)
    {
        if (!handle.IsInvalid)
        {
            return;
        }
        int errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        throw errno switch
        {
            Interop.ELOOP or Interop.ENOTDIR => new IOException(
                $"{path} is a symbolic link (or not a directory); refusing to write through it: a link in a store may point anywhere on this system"),
            Interop.EEXIST => new IOException($"{path} already exists"),
            _ => Interop.GetExceptionForErrno(errno, path, operation),
        };
    }
}

/// <summary>A directory held open (not followed again by name), in which files are created with mode 0600 and never
/// through a symbolic link.</summary>
public sealed class PrivateDirectory : IDisposable
{
    private readonly SafeFileHandle _handle;

    internal PrivateDirectory(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    /// <summary>The directory's path, for messages and for reading back.</summary>
    public string Path { get; }

    /// <summary>Creates <paramref name="name"/> in this directory with mode 0600. With <paramref name="replace"/> an
    /// existing entry of that name (a link included: the link, never its target) is removed first.</summary>
    public FileStream Create(string name, bool replace = false)
    {
        PrivateFiles.CheckName(name);
        if (replace && Interop.unlinkat(_handle, name, 0) < 0 && Marshal.GetLastPInvokeError() is int errno && errno != Interop.ENOENT)
        {
            throw Interop.GetExceptionForErrno(errno, System.IO.Path.Combine(Path, name), "unlink");
        }
        SafeFileHandle file = Interop.openat(_handle, name,
            Interop.O_WRONLY | Interop.O_CREAT | Interop.O_EXCL | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, (int)PrivateFiles.FileMode);
        return PrivateFiles.Stream(file, System.IO.Path.Combine(Path, name));
    }

    public void Dispose() => _handle.Dispose();
}
