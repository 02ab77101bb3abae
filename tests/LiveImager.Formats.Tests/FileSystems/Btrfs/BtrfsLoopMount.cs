using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Btrfs;

/// <summary>A kernel mount of a btrfs image file through a loop device of its own; unmounted and detached on Dispose,
/// even when the test failed.</summary>
public sealed class BtrfsLoopMount : IDisposable
{
    private BtrfsLoopMount(string device, string directory)
    {
        Device = device;
        Directory = directory;
    }

    /// <summary>The loop device, e.g. /dev/loop3.</summary>
    public string Device { get; }

    /// <summary>Where the filesystem is mounted.</summary>
    public string Directory { get; }

    /// <summary>Skips the calling test unless it runs as root with loop devices, mount and btrfs-progs.</summary>
    public static void RequireTools()
    {
        Privileges.RequireLoopDevices("needs root to attach loop devices and mount");
        Skip.IfNot(File.ReadAllText("/proc/filesystems").Contains("\tbtrfs\n", StringComparison.Ordinal),
            "needs btrfs in the kernel (modprobe btrfs)");
        ExternalTool.Require("mkfs.btrfs", "btrfs-progs");
        ExternalTool.Require("btrfs", "btrfs-progs");
    }

    /// <summary>Attaches <paramref name="image"/> to a free loop device and mounts it on a new <paramref name="directory"/>.</summary>
    public static BtrfsLoopMount Mount(string image, string directory, string options)
    {
        System.IO.Directory.CreateDirectory(directory);
        string device = ExternalTool.Run("losetup", "-f", "--show", image).Trim();
        if (!device.StartsWith("/dev/loop", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"losetup printed '{device}' instead of a loop device");
        }
        var result = ExternalTool.RunUnchecked("mount", null, "-t", "btrfs", "-o", options, device, directory);
        if (result.ExitCode != 0)
        {
            ExternalTool.RunUnchecked("losetup", null, "-d", device);
            throw new InvalidOperationException($"mount -o {options} {image} failed: {result.StandardError}");
        }
        return new BtrfsLoopMount(device, directory);
    }

    public void Dispose()
    {
        // A mount just written can be busy for a moment (a scan of the new loop device by another test's tools):
        // try again for a few seconds before giving up, so a passing test does not fail in its cleanup.
        var unmount = ExternalTool.RunUnchecked("umount", null, Directory);
        for (int attempt = 0; attempt < 20 && unmount.ExitCode != 0; attempt++)
        {
            Thread.Sleep(250);
            unmount = ExternalTool.RunUnchecked("umount", null, Directory);
        }
        var detach = ExternalTool.RunUnchecked("losetup", null, "-d", Device);
        if (unmount.ExitCode != 0 || detach.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"cleaning up {Directory} on {Device} failed: {unmount.StandardError} {detach.StandardError}");
        }
    }
}
