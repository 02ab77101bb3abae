using System.Diagnostics;
using System.Text;
using LiveImager.Formats.Tests.Support;

namespace LiveImager.Engine.Tests.Support;

/// <summary>A real block device whose chosen sectors fail with EIO: the disk file is served by <c>nbdkit</c> through
/// its <c>ddrescue</c> filter (reads of the ranges a ddrescue map file does not mark rescued fail with EIO; nbdkit's
/// <c>error</c> filter fails requests at a random rate, not on chosen ranges), mounted as a file by <c>nbdfuse</c>
/// (the kernel has no nbd module; FUSE works), under a loop device with direct I/O, so each read reaches nbdkit as the
/// reader cut it (through the page cache one bad sector would fail its whole 4 KiB page). The device is read-only.
/// Dispose detaches the loop, unmounts and ends the servers, even when a test failed.</summary>
public sealed class FailingDisk : IDisposable
{
    private readonly Process _nbdfuse;
    private readonly string _mountPoint;
    private LoopDevice? _loop;

    private FailingDisk(Process nbdfuse, string mountPoint)
    {
        _nbdfuse = nbdfuse;
        _mountPoint = mountPoint;
    }

    /// <summary>The loop device, e.g. /dev/loop4.</summary>
    public string Path => _loop!.Path;

    /// <summary>Creates the loop's partition nodes (<c>partx -a</c>), removed again on Dispose.</summary>
    public IReadOnlyList<string> ScanPartitions() => _loop!.ScanPartitions();

    /// <summary>Skips the test unless root, loop devices, nbdkit and nbdfuse are here.</summary>
    public static void Require()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("nbdkit", "nbdkit");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        ExternalTool.Require("fusermount3", "fuse3");
    }

    /// <summary>Serves <paramref name="diskFile"/> with every byte of <paramref name="badRanges"/> (start, length, in
    /// bytes, sector multiples) failing with EIO.</summary>
    public static FailingDisk Create(string diskFile, IReadOnlyList<(long Start, long Length)> badRanges, string workDirectory)
    {
        Require();
        long size = new FileInfo(diskFile).Length;
        string map = System.IO.Path.Combine(workDirectory, "bad-sectors.map");
        File.WriteAllText(map, DdrescueMap(size, badRanges));
        string mountPoint = Directory.CreateDirectory(System.IO.Path.Combine(workDirectory, "nbdfuse")).FullName;
        var start = new ProcessStartInfo("nbdfuse")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--readonly", System.IO.Path.Combine(mountPoint, "disk"), "--command", "nbdkit", "-s", "--exit-with-parent", "-r",
            "--filter=ddrescue", "file", diskFile, $"ddrescue-mapfile={map}" })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("nbdfuse did not start");
        var disk = new FailingDisk(process, mountPoint);
        try
        {
            string file = System.IO.Path.Combine(mountPoint, "disk");
            var clock = Stopwatch.StartNew();
            while (!(File.Exists(file) && new FileInfo(file).Length == size))
            {
                if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(20))
                {
                    throw new InvalidOperationException($"nbdfuse did not serve {file}: {(process.HasExited ? process.StandardError.ReadToEnd() : "timed out")}");
                }
                Thread.Sleep(100);
            }
            string loop = ExternalTool.Run("losetup", "-f", "--show", "--direct-io=on", "--read-only", file).Trim();
            disk._loop = LoopDevice.Adopt(loop, file);
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    /// <summary>A ddrescue map: finished, every byte rescued ("+") except the bad ranges ("-").</summary>
    private static string DdrescueMap(long size, IReadOnlyList<(long Start, long Length)> badRanges)
    {
        var text = new StringBuilder("# Mapfile. Created by LiveImager's tests\n0x00000000     ?               1\n");
        long position = 0;
        foreach (var (start, length) in badRanges.OrderBy(r => r.Start))
        {
            if (start > position)
            {
                text.Append($"0x{position:X8}  0x{start - position:X8}  +\n");
            }
            text.Append($"0x{start:X8}  0x{length:X8}  -\n");
            position = start + length;
        }
        if (position < size)
        {
            text.Append($"0x{position:X8}  0x{size - position:X8}  +\n");
        }
        return text.ToString();
    }

    public void Dispose()
    {
        var problems = new List<string>();
        try
        {
            _loop?.Dispose();
        }
        catch (InvalidOperationException e)
        {
            problems.Add(e.Message);
        }
        var unmount = ExternalTool.RunUnchecked("fusermount3", null, "-u", _mountPoint);
        if (!_nbdfuse.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            _nbdfuse.Kill(entireProcessTree: true);
            _nbdfuse.WaitForExit();
            if (unmount.ExitCode != 0)
            {
                problems.Add($"fusermount3 -u {_mountPoint}: {unmount.StandardError}");
            }
        }
        _nbdfuse.Dispose();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems));
        }
    }
}
