using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Support;

/// <summary>A real loop device over a (sparse) file, detached on Dispose; tests that use one need root.</summary>
/// <remarks>On this kernel <c>losetup -P</c> does not create partition nodes, so <see cref="ScanPartitions"/> runs
/// <c>partx -a</c>. Always use it in a <c>using</c>: a leaked loop device outlives the test run.</remarks>
public sealed class LoopDevice : IDisposable
{
    private bool _partitionsAdded;

    private LoopDevice(string path, string backingFile)
    {
        Path = path;
        BackingFile = backingFile;
    }

    /// <summary>The device node, e.g. /dev/loop3.</summary>
    public string Path { get; }

    /// <summary>The kernel name, e.g. loop3.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>The file the device maps.</summary>
    public string BackingFile { get; }

    /// <summary>Skips the calling test unless it runs as root with loop devices and losetup available.</summary>
    public static void RequireRoot() => Privileges.RequireLoopDevices("needs root to attach loop devices");

    /// <summary>Attaches <paramref name="file"/> to the first free loop device (<c>losetup -f --show</c>).</summary>
    /// <param name="sectorSize">The logical sector size the device reports (<c>--sector-size</c>), 512 or 4096.</param>
    /// <param name="partitionScan">Sets the loop's partscan flag (<c>-P</c>), without which BLKRRPART fails with EINVAL.
    /// This kernel has no partition-table parsers, so partitions still come only from <see cref="ScanPartitions"/>.</param>
    public static LoopDevice Attach(string file, int sectorSize = 512, bool partitionScan = false)
    {
        string[] args = ["-f", "--show", "--sector-size", sectorSize.ToString(), .. partitionScan ? ["-P"] : Array.Empty<string>(), file];
        string path = ExternalTool.Run("losetup", args).Trim();
        if (!path.StartsWith("/dev/loop", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"losetup printed '{path}' instead of a loop device");
        }
        return new LoopDevice(path, file);
    }

    /// <summary>Takes over a loop device the caller attached with options of its own; Dispose detaches it.</summary>
    public static LoopDevice Adopt(string path, string backingFile) => path.StartsWith("/dev/loop", StringComparison.Ordinal)
        ? new LoopDevice(path, backingFile)
        : throw new InvalidOperationException($"losetup printed '{path}' instead of a loop device");

    /// <summary>Creates the partition nodes (<c>partx -a</c>) and returns their paths, e.g. /dev/loop3p1.</summary>
    public IReadOnlyList<string> ScanPartitions()
    {
        ExternalTool.Require("partx", "util-linux");
        ExternalTool.Run("partx", "-a", Path);
        _partitionsAdded = true;
        string[] names = Directory.Exists($"/sys/block/{Name}")
            ? Directory.GetDirectories($"/sys/block/{Name}", $"{Name}p*").Select(System.IO.Path.GetFileName).OfType<string>().Order().ToArray()
            : [];
        return names.Select(name => $"/dev/{name}").ToArray();
    }

    /// <summary>The node of partition <paramref name="number"/>.</summary>
    public string PartitionPath(int number) => $"{Path}p{number}";

    /// <summary>Removes the partition nodes and detaches the device.</summary>
    public void Dispose()
    {
        if (_partitionsAdded)
        {
            // A failure here (e.g. a partition still mounted) must not keep the detach below from running.
            ExternalTool.RunUnchecked("partx", null, "-d", Path);
        }
        var result = ExternalTool.RunUnchecked("losetup", null, "-d", Path);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"losetup -d {Path} failed: {result.StandardError}");
        }
    }
}
