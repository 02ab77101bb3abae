using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.ExFat;

/// <summary>An exFAT image mounted read-write through a loop device and exfat-fuse; unmounted and detached on dispose.</summary>
/// <remarks>exfat-fuse run as root asks FUSE for a block device ("blkdev"), so a plain image file fails with "Block
/// device required"; a loop device over the file satisfies it. The kernel's own exfat driver is not needed.</remarks>
public sealed class ExFatFuseMount : IDisposable
{
    private readonly string _loopDevice;
    private bool _mounted;

    private ExFatFuseMount(string loopDevice, string directory)
    {
        _loopDevice = loopDevice;
        Directory = directory;
    }

    /// <summary>Where the volume's files appear.</summary>
    public string Directory { get; }

    /// <summary>Skips the calling test unless loop devices and exfat-fuse can be used.</summary>
    public static void Require()
    {
        Privileges.RequireLoopDevices("mounting an exFAT image through a loop device needs root");
        ExternalTool.Require("losetup", "mount");
        ExternalTool.Require("mount.exfat-fuse", "exfat-fuse");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs /dev/fuse (modprobe fuse)");
    }

    /// <summary>Attaches <paramref name="image"/> to a free loop device and mounts it on a new directory in
    /// <paramref name="scratch"/>.</summary>
    public static ExFatFuseMount Mount(string image, ScratchDirectory scratch)
    {
        string loop = ExternalTool.Run("losetup", "-f", "--show", image).Trim();
        string directory = System.IO.Directory.CreateDirectory(scratch.File($"mnt-{Path.GetFileName(loop)}")).FullName;
        var mount = new ExFatFuseMount(loop, directory);
        try
        {
            ExternalTool.Run("mount.exfat-fuse", loop, directory);
            mount._mounted = true;
            return mount;
        }
        catch
        {
            mount.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_mounted)
        {
            ExternalTool.Run("umount", Directory);
            _mounted = false;
        }
        ExternalTool.RunUnchecked("losetup", null, "-d", _loopDevice);
    }
}
