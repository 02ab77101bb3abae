using LiveImager.Engine.Devices;

namespace LiveImager.Engine.Imaging;

/// <summary>The one rule for a path a job reads as a disk or writes a disk to (capture's source, restore's targets,
/// verify's <c>--against</c>): it exists and is a block device or a regular file, and under /dev it is a block device.
/// A mistyped disk name such as /dev/sdzz9 is therefore refused instead of becoming a file in the live system's RAM,
/// and a target is never created. The CLI checks it before it mounts a store, the jobs check it again before they open
/// anything, so the TUI and unattended runs take the same rule.</summary>
public static class DiskPath
{
    private const string DevDirectory = "/dev/";

    /// <summary>Checks every path; the first that breaks the rule throws.</summary>
    /// <exception cref="DiskPathException">A path is missing, or neither a block device nor a regular file, or under
    /// /dev and not a block device.</exception>
    public static void CheckAll(IEnumerable<string> paths, DiskRole role)
    {
        foreach (string path in paths)
        {
            Check(path, role);
        }
    }

    /// <inheritdoc cref="CheckAll"/>
    public static void Check(string path, DiskRole role)
    {
        string what = role switch
        {
            DiskRole.Source => "the disk to capture",
            DiskRole.RestoreTarget => "a restore target",
            DiskRole.Inspected => "the disk to inspect",
            DiskRole.Comparison => "the disk to compare with (--against)",
            _ => throw new ArgumentOutOfRangeException(nameof(role)),
        };
        if (path.Length == 0 || path == "-")
        {
            throw new DiskPathException(path, $"'{path}' is not a disk or file: {what} is an existing disk (liveimager list shows them) or file");
        }
        DeviceNode node;
        try
        {
            node = DeviceNode.Stat(path);
        }
        catch (DeviceNotFoundException)
        {
            throw new DiskPathException(path, IsUnderDev(path)
                ? $"{path} does not exist: no disk has that name; liveimager list shows the disks. Nothing was done"
                : role == DiskRole.RestoreTarget
                    ? $"{path} does not exist: a restore target is an existing disk (liveimager list shows them) or file; " +
                      $"to restore into a new disk image file, create it first (touch {(path.StartsWith('-') ? "./" + path : path)}: it grows to the source disk's size). Nothing was done"
                    : $"{path} does not exist: {what} is an existing disk (liveimager list shows them) or file. Nothing was done");
        }
        catch (DeviceException e)
        {
            throw new DiskPathException(path, $"{path} cannot be checked: {e.Message}");
        }
        if (node.IsBlockDevice)
        {
            return;
        }
        if (IsUnderDev(path))
        {
            throw new DiskPathException(path, $"{path} is not a block device: under /dev only a disk is {what}; liveimager list shows the disks. Nothing was done");
        }
        if (!node.IsRegularFile)
        {
            throw new DiskPathException(path, $"{path} is neither a disk nor a regular file, so it cannot be {what}. Nothing was done");
        }
    }

    /// <summary>True when the path as given, or what it resolves to through symbolic links, is under /dev.</summary>
    private static bool IsUnderDev(string path)
    {
        string full = Path.GetFullPath(path);
        if (full.StartsWith(DevDirectory, StringComparison.Ordinal))
        {
            return true;
        }
        try
        {
            string? resolved = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            return resolved is not null && resolved.StartsWith(DevDirectory, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            // A link loop or a broken link: stat has already said what is wrong with it.
            return false;
        }
    }
}

/// <summary>What a job does with a path <see cref="DiskPath"/> checks, for the message.</summary>
public enum DiskRole
{
    Source,
    RestoreTarget,
    Comparison,
    Inspected,
}
