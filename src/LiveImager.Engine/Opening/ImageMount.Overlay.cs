using System.Diagnostics;
using System.Globalization;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;

namespace LiveImager.Engine.Opening;

/// <summary>The writable view of an image that <c>restore --fit</c> shrinks filesystems on: the image's read-only NBD
/// export → nbdkit's cow filter, which keeps every write in a temporary file of its own → <c>nbdfuse</c> exposing the
/// result as a writable file. The image is never written. The same state file as a mount records every step, so
/// <see cref="Unmount"/> removes the view, its loop devices and its overlay, also after a crash.</summary>
public static partial class ImageMount
{
    private const string OverlaySocketFile = "cow.sock";

    /// <summary>Opens the view keyed by <paramref name="key"/> (a path no mount uses; it is never created) and returns
    /// the view's file: the whole disk as the image restores it, writable. <paramref name="overlayDirectory"/> is where
    /// nbdkit keeps the overlay (its TMPDIR); nbdkit deletes the file as soon as it has opened it, so nothing is left
    /// there even if every process is killed.</summary>
    public static string OpenOverlay(string key, Func<string, IReadOnlyList<string>> serverCommand, string overlayDirectory)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new ImagingException("--fit needs root: it shrinks filesystems on loop devices");
        }
        string nbdfuse = StoreTools.Find("nbdfuse")
            ?? throw new ImagingException("nbdfuse is not installed (Debian package libnbd-bin); --fit opens the image through it");
        string nbdkit = StoreTools.Find("nbdkit")
            ?? throw new ImagingException("nbdkit is not installed (Debian package nbdkit); --fit keeps the resize tools' writes in its cow filter");
        string work = WorkDirectory(Path.GetFullPath(key));
        if (File.Exists(Path.Combine(work, StateFile)))
        {
            throw new ImagingException($"{key} already has a view open (state in {work})");
        }
        Directory.CreateDirectory(work);
        var state = new StateWriter(Path.Combine(work, StateFile));
        try
        {
            state.Add("view", key);
            string socket = Path.Combine(work, SocketFile);
            StartServer(serverCommand(socket), socket, work, state);
            string cow = Path.Combine(work, OverlaySocketFile);
            Process process = StartDetached(
                [nbdkit, "--foreground", "--unix", cow, "--filter=cow", "nbd", $"socket={socket}", $"export={NbdExport.DiskName}"],
                work, keepSecrets: false, new Dictionary<string, string> { ["TMPDIR"] = overlayDirectory });
            state.Add("overlay", process.Id.ToString(CultureInfo.InvariantCulture));
            WaitFor(() => File.Exists(cow), process, "nbdkit", work);

            string fuse = Path.Combine(work, FuseDirectory);
            Directory.CreateDirectory(fuse);
            string disk = Path.Combine(fuse, DiskFile);
            state.Add("fuse", fuse);
            Process fuseProcess = StartDetached([nbdfuse, disk, $"nbd+unix:///?socket={cow}"], work, keepSecrets: false);
            state.Add("fuse-process", fuseProcess.Id.ToString(CultureInfo.InvariantCulture));
            WaitFor(() => File.Exists(disk), fuseProcess, "nbdfuse", work);
            return disk;
        }
        catch
        {
            Unmount(key);
            throw;
        }
    }

    /// <summary>Bytes the overlay of the view keyed by <paramref name="key"/> takes on its filesystem now (allocated,
    /// not apparent), found through nbdkit's open descriptors since the file has no name; 0 when it cannot tell.</summary>
    public static long OverlayBytes(string key)
    {
        string statePath = Path.Combine(WorkDirectory(Path.GetFullPath(key)), StateFile);
        if (!File.Exists(statePath))
        {
            return 0;
        }
        long bytes = 0;
        foreach ((string _, string pid) in StateWriter.Read(statePath).Where(s => s.Kind == "overlay"))
        {
            string descriptors = $"/proc/{pid}/fd";
            if (!Directory.Exists(descriptors))
            {
                continue;
            }
            foreach (string descriptor in Directory.EnumerateFileSystemEntries(descriptors))
            {
                try
                {
                    // nbdkit's cow filter unlinks its temporary file at once: it is the one deleted regular file it holds.
                    if (new FileInfo(descriptor).LinkTarget is { } target && target.EndsWith(" (deleted)", StringComparison.Ordinal))
                    {
                        Interop.StatResult stat = Interop.stat(descriptor);
                        if ((stat.Mode & Interop.S_IFMT) == Interop.S_IFREG)
                        {
                            bytes += stat.Blocks * 512;
                        }
                    }
                }
                catch (IOException)
                {
                    // The descriptor closed while it was looked at.
                }
            }
        }
        return bytes;
    }

    /// <summary>A writable loop device over [<paramref name="offset"/>, +<paramref name="length"/>) of the view file
    /// <paramref name="view"/>; <see cref="Unmount"/> detaches it by its backing file.</summary>
    public static string AttachLoop(string view, long offset, long length)
    {
        ToolOutput loop = StoreTools.Run(new MountCommand("losetup", ["--find", "--show", "--offset",
            offset.ToString(CultureInfo.InvariantCulture), "--sizelimit", length.ToString(CultureInfo.InvariantCulture), view]));
        string device = loop.StandardError.Trim();
        if (loop.ExitCode != 0 || !device.StartsWith("/dev/loop", StringComparison.Ordinal))
        {
            throw new ImagingException($"no loop device on the image's view: {device}");
        }
        return device;
    }

    /// <summary>Mounts <paramref name="device"/>, a loop device of the view keyed by <paramref name="key"/>, read-write
    /// on a directory inside the view's state, for a tool that resizes a mounted filesystem (btrfs); recorded in the
    /// view's state first, so <see cref="Unmount"/> undoes it after a failure or a crash.</summary>
    public static string MountForResize(string key, string device, string filesystem)
    {
        string work = WorkDirectory(Path.GetFullPath(key));
        string mountPoint = Path.Combine(work, "resize");
        Directory.CreateDirectory(mountPoint);
        new StateWriter(Path.Combine(work, StateFile)).Add("mount", mountPoint);
        ToolOutput mounted = StoreTools.Run(new MountCommand("mount", ["-t", filesystem, device, mountPoint]));
        if (mounted.ExitCode != 0)
        {
            throw new ImagingException($"cannot mount {device} ({filesystem}) to resize it: {mounted.StandardError.Trim()}");
        }
        return mountPoint;
    }

    /// <summary>Unmounts what <see cref="MountForResize"/> mounted.</summary>
    public static void UnmountForResize(string mountPoint)
    {
        var problems = new List<string>();
        UnmountPath(mountPoint, problems);
        if (problems.Count > 0)
        {
            throw new ImagingException(problems[0]);
        }
    }

    /// <summary>Detaches <paramref name="device"/>, made by <see cref="AttachLoop"/>.</summary>
    public static void DetachLoop(string device)
    {
        ToolOutput detached = StoreTools.Run(new MountCommand("losetup", ["--detach", device]));
        if (detached.ExitCode != 0)
        {
            throw new ImagingException($"cannot detach {device}: {detached.StandardError.Trim()}");
        }
    }
}
