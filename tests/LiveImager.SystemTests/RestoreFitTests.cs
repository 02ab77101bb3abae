using System.Diagnostics;
using System.Security.Cryptography;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary><c>restore --fit</c> through the published binary: the demo's disk onto a file 60% of its size, judged by
/// scripts/check-test-disk.sh; refused with numbers onto one too small; Ctrl-C midway; an MBR disk with logical
/// partitions. Every test checks the image file is unchanged and that no view, loop device, mount or helper process is
/// left behind.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class RestoreFitTests : IDisposable
{
    private const string StateRoot = "/run/liveimager/mounts";
    private const long MiB = 1 << 20;
    private readonly ScratchDirectory _scratch = new();

    public RestoreFitTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>The issue's case: ext4 and NTFS shrunk by resize2fs and ntfsresize on the overlay, EFI kept, the swap
    /// kept with its UUID; sgdisk -v, e2fsck -fn, ntfsfix -n, fsck.fat -n and every file's sha256.</summary>
    [SkippableFact]
    public void DemoDiskFitsOntoSixtyPercent()
    {
        (string binary, string disk, string image) = CaptureDemoDisk();
        string imageSum = Sha256(image);
        long size = new FileInfo(disk).Length;
        string target = _scratch.SparseFile("small.img", size * 6 / 10 / MiB * MiB);
        HashSet<string> before = Leftovers();

        ToolResult restore = ExternalTool.RunUnchecked(binary, null, "restore", image, target, "--fit", "--yes", "--overlay-dir", _scratch.Path);

        Assert.True(restore.ExitCode == 0, $"restore --fit exited {restore.ExitCode}:\n{restore.StandardOutput}\n{restore.StandardError}");
        Assert.Contains("shrink", restore.StandardOutput);
        Assert.Matches(@"restore: overlay held [0-9.]+ [kMG]?B \([0-9,]+ bytes\)", restore.StandardError);
        Assert.Equal(size * 6 / 10 / MiB * MiB, new FileInfo(target).Length);
        ToolResult check = ExternalTool.RunUnchecked("env", null, "CHECK_TEST_DISK_RESIZED=1", "bash",
            RepositoryScripts.Path("check-test-disk.sh"), target, disk + ".manifest");
        Assert.True(check.ExitCode == 0, $"check-test-disk.sh:\n{check.StandardOutput}\n{check.StandardError}");
        Assert.Contains("ok    table: sgdisk -v clean", check.StandardOutput);
        Assert.Equal(imageSum, Sha256(image));
        AssertNothingLeft(before);
    }

    /// <summary>A target that cannot hold the used data: refused with the partition, what it holds and the room left,
    /// before anything is written or any view opened.</summary>
    [SkippableFact]
    public void TooSmallTargetIsRefusedWithNumbers()
    {
        (string binary, string disk, string image) = CaptureDemoDisk();
        string target = _scratch.SparseFile("tiny.img", new FileInfo(disk).Length * 4 / 10 / MiB * MiB);
        HashSet<string> before = Leftovers();

        ToolResult restore = ExternalTool.RunUnchecked(binary, null, "restore", image, target, "--fit", "--yes");

        Assert.True(restore.ExitCode == 1, $"restore --fit exited {restore.ExitCode}:\n{restore.StandardError}");
        Assert.Matches(@"restore: partition [23] \((ext4|ntfs)\) holds [0-9.]+ MB and needs [0-9.]+ MB with the margin, " +
            @"the target leaves room for [0-9.]+ MB .*; nothing was written", restore.StandardError);
        Assert.False(File.ReadAllBytes(target).AsSpan().ContainsAnyExcept((byte)0), "the refused target was written");
        AssertNothingLeft(before);
    }

    /// <summary>SIGINT while the view is being opened: exit 130, and the view (server, nbdkit and its overlay, nbdfuse,
    /// loop devices) is gone. The process is stopped (SIGSTOP) as soon as its view's state appears, so the signal lands
    /// before the copy however loaded the machine is; a try that finds the view already whole is run again.</summary>
    [SkippableFact]
    public void InterruptedFitLeavesNoOverlay()
    {
        (string binary, string disk, string image) = CaptureDemoDisk();
        string imageSum = Sha256(image);
        string target = _scratch.SparseFile("small.img", new FileInfo(disk).Length * 6 / 10 / MiB * MiB);
        HashSet<string> before = Leftovers();
        for (int attempt = 1; ; attempt++)
        {
            var info = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string arg in (string[])["restore", image, target, "--fit", "--yes"])
            {
                info.ArgumentList.Add(arg);
            }
            using var restore = Process.Start(info)!;
            Task<string> output = restore.StandardOutput.ReadToEndAsync();
            Task<string> error = restore.StandardError.ReadToEndAsync();
            string pid = restore.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string? state = null;
            var clock = Stopwatch.StartNew();
            while (state is null && !restore.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                state = ViewState(restore.Id);
                Thread.Sleep(1);
            }
            if (state is null)
            {
                restore.WaitForExit();
                Assert.Fail($"restore showed no view:\n{output.Result}\n{error.Result}");
            }
            ExternalTool.Run("kill", "-STOP", pid);
            bool early = !File.ReadAllText(state).Contains("fuse-process ", StringComparison.Ordinal);
            if (early)
            {
                ExternalTool.Run("kill", "-INT", pid);
            }
            ExternalTool.Run("kill", "-CONT", pid);
            Assert.True(restore.WaitForExit(TimeSpan.FromSeconds(120)), "restore did not stop within 120 s");
            restore.WaitForExit();
            if (!early)
            {
                Assert.True(restore.ExitCode == 0, $"restore exited {restore.ExitCode}:\n{error.Result}");
                Assert.True(attempt < 5, "the view was whole before the test could stop the restore, five times");
                continue;
            }
            Assert.True(restore.ExitCode == 130, $"restore exited {restore.ExitCode}:\n{error.Result}");
            Assert.Contains("restore: cancelled", error.Result);
            break;
        }
        Assert.Equal(imageSum, Sha256(image));
        AssertNothingLeft(before);
    }

    /// <summary>The state file of the view process <paramref name="pid"/> opened, or null while there is none.</summary>
    private static string? ViewState(int pid)
    {
        if (!Directory.Exists(StateRoot))
        {
            return null;
        }
        foreach (string directory in Directory.GetDirectories(StateRoot))
        {
            string state = Path.Combine(directory, "state");
            try
            {
                if (File.Exists(state) && File.ReadAllText(state).Contains($"/fit-{pid}-", StringComparison.Ordinal))
                {
                    return state;
                }
            }
            catch (IOException)
            {
                // Removed while it was read.
            }
        }
        return null;
    }

    /// <summary>An MBR disk with a primary ext4 and three logical partitions (ext4, NTFS, swap) in an extended one, the
    /// swap made smaller by --layout: the EBR chain rewritten at the new places; sfdisk reads it, the filesystems check
    /// clean and keep their files, the swap keeps its UUID and label.</summary>
    [SkippableFact]
    public void MbrDiskWithLogicalPartitionsShrinks()
    {
        string binary = RequireTools();
        string disk = _scratch.SparseFile("mbr.img", 310 * MiB);
        ExternalTool.RunWithInput("sfdisk", "label: dos\nstart=1MiB, size=60MiB, type=83\nstart=62MiB, type=5\n" +
            "start=63MiB, size=70MiB, type=83\nstart=135MiB, size=64MiB, type=7\nstart=201MiB, size=100MiB, type=82\n", "-q", disk);
        string content = _scratch.File("content");
        Directory.CreateDirectory(content);
        File.WriteAllBytes(Path.Combine(content, "random.bin"), RandomNumberGenerator.GetBytes(12 * (int)MiB));
        string sum = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(content, "random.bin"))));
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-L", "first", "-d", content, "-E", $"offset={1 * MiB}", disk, "60M");
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-L", "logical", "-d", content, "-E", $"offset={63 * MiB}", disk, "70M");
        string ntfs = _scratch.SparseFile("ntfs.img", 64 * MiB);
        ExternalTool.Run("mkntfs", "-q", "-F", "-Q", "-L", "win", "-p", (135 * 2048).ToString(System.Globalization.CultureInfo.InvariantCulture), ntfs);
        ExternalTool.Run("dd", $"if={ntfs}", $"of={disk}", "bs=1M", "seek=135", "conv=notrunc,sparse", "status=none");
        string swap = _scratch.SparseFile("swap.img", 100 * MiB);
        ExternalTool.Run("mkswap", "-L", "fitswap", swap);
        string swapUuid = ExternalTool.Run("blkid", "-p", "-o", "value", "-s", "UUID", swap).Trim();
        ExternalTool.Run("dd", $"if={swap}", $"of={disk}", "bs=1M", "seek=201", "count=1", "conv=notrunc", "status=none");
        string image = _scratch.File("mbr.lim");
        ExternalTool.Run(binary, "capture", disk, image);
        string imageSum = Sha256(image);
        string target = _scratch.SparseFile("mbr-small.img", 200 * MiB);
        HashSet<string> before = Leftovers();

        ToolResult restore = ExternalTool.RunUnchecked(binary, null, "restore", image, target, "--fit", "--layout", "7=64M", "--yes",
            "--overlay-dir", _scratch.Path);

        Assert.True(restore.ExitCode == 0, $"restore --fit exited {restore.ExitCode}:\n{restore.StandardOutput}\n{restore.StandardError}");
        string dump = ExternalTool.Run("sfdisk", "-d", target);
        Assert.Contains("type=5", dump);
        string json = ExternalTool.Run("sfdisk", "-J", target);
        using var layout = System.Text.Json.JsonDocument.Parse(json);
        var parts = layout.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray()
            .Select(p => (Node: p.GetProperty("node").GetString()!, Start: p.GetProperty("start").GetInt64() * 512,
                Size: p.GetProperty("size").GetInt64() * 512, Type: p.GetProperty("type").GetString()!))
            .ToList();
        Assert.Equal(["83", "5", "83", "7", "82"], parts.Select(p => p.Type));
        Assert.Equal(64 * MiB, parts[^1].Size);
        foreach (var (node, start, size, type) in parts.Where(p => p.Type != "5"))
        {
            Assert.True(start + size <= 200 * MiB, $"{node} ends past the target");
            string part = _scratch.File("part.img");
            ExternalTool.Run("dd", $"if={target}", $"of={part}", "bs=1M", "iflag=skip_bytes,count_bytes", $"skip={start}", $"count={size}",
                "conv=sparse", "status=none");
            if (type == "83")
            {
                ExternalTool.Run("e2fsck", "-fn", part);
                string cat = ExternalTool.Run("sh", "-c", $"debugfs -R 'cat /random.bin' '{part}' 2>/dev/null | sha256sum");
                Assert.Equal(sum, cat.Split(' ')[0]);
            }
            else if (type == "7")
            {
                ExternalTool.Run("ntfsfix", "-n", part);
            }
            else
            {
                Assert.Equal($"LABEL=fitswap\nUUID={swapUuid}\nTYPE=swap\n",
                    string.Concat(ExternalTool.Run("blkid", "-p", "-o", "export", part).Split('\n')
                        .Where(l => l.StartsWith("LABEL=", StringComparison.Ordinal) || l.StartsWith("UUID=", StringComparison.Ordinal)
                            || l.StartsWith("TYPE=", StringComparison.Ordinal)).Select(l => l + "\n")));
            }
            File.Delete(part);
        }
        Assert.Equal(imageSum, Sha256(image));
        AssertNothingLeft(before);
    }

    /// <summary>btrfs shrunk by <c>btrfs filesystem resize</c> on a mount of the overlay's loop device (#20): a 1 GiB
    /// btrfs with 24 MiB of data onto a 400 MiB file; the step line names the tool, btrfs check finds the restored
    /// partition clean, its superblock has the new size, the file reads back with its hash, and the image is unchanged.</summary>
    [SkippableFact]
    public void BtrfsShrinksOnAMountOfTheOverlay()
    {
        string binary = RequireTools();
        ExternalTool.Require("mkfs.btrfs", "btrfs-progs");
        Skip.IfNot(File.ReadAllText("/proc/filesystems").Contains("\tbtrfs\n", StringComparison.Ordinal), "the kernel has no btrfs");
        string fs = _scratch.SparseFile("btrfs.img", 1024 * MiB);
        ExternalTool.Run("mkfs.btrfs", "-q", "-f", "-L", "fitbtrfs", fs);
        byte[] data = RandomNumberGenerator.GetBytes(24 * (int)MiB);
        string sum = Convert.ToHexStringLower(SHA256.HashData(data));
        using (LoopDevice loop = LoopDevice.Attach(fs))
        {
            string mountPoint = Directory.CreateDirectory(_scratch.File("mnt")).FullName;
            ExternalTool.Run("mount", "-t", "btrfs", loop.Path, mountPoint);
            try
            {
                File.WriteAllBytes(Path.Combine(mountPoint, "data.bin"), data);
            }
            finally
            {
                ExternalTool.Run("umount", mountPoint);
            }
        }
        string disk = _scratch.SparseFile("disk.img", 1030 * MiB);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=1MiB, size=1024MiB, type=linux\n", "-q", disk);
        ExternalTool.Run("dd", $"if={fs}", $"of={disk}", "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none");
        File.Delete(fs);
        string image = _scratch.File("btrfs.lim");
        ExternalTool.Run(binary, "capture", disk, image);
        string imageSum = Sha256(image);
        string target = _scratch.SparseFile("small.img", 400 * MiB);
        HashSet<string> before = Leftovers();

        ToolResult restore = ExternalTool.RunUnchecked(binary, null, "restore", image, target, "--fit", "--yes", "--overlay-dir", _scratch.Path);

        Assert.True(restore.ExitCode == 0, $"restore --fit exited {restore.ExitCode}:\n{restore.StandardOutput}\n{restore.StandardError}");
        Assert.Contains("restore: shrinking partition 1 (btrfs) with btrfs filesystem resize...", restore.StandardError);
        ToolResult gpt = ExternalTool.RunUnchecked("sgdisk", null, "-v", target);
        Assert.True(gpt.StandardOutput.Contains("No problems found", StringComparison.Ordinal), gpt.StandardOutput);
        using LoopDevice restored = LoopDevice.Attach(target);
        string partition = Assert.Single(restored.ScanPartitions());
        long partitionBytes = long.Parse(ExternalTool.Run("blockdev", "--getsize64", partition).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(partitionBytes < 400 * MiB, $"partition of {partitionBytes} bytes");
        ToolResult check = ExternalTool.RunUnchecked("btrfs", null, "check", "--readonly", partition);
        Assert.True(check.ExitCode == 0, $"btrfs check:\n{check.StandardOutput}{check.StandardError}");
        string super = ExternalTool.Run("btrfs", "inspect-internal", "dump-super", partition);
        Assert.Contains($"total_bytes\t\t{partitionBytes}", super);
        string view = Directory.CreateDirectory(_scratch.File("view")).FullName;
        ExternalTool.Run("mount", "-t", "btrfs", "-o", "ro", partition, view);
        try
        {
            Assert.Equal(sum, Sha256(Path.Combine(view, "data.bin")));
        }
        finally
        {
            ExternalTool.Run("umount", view);
        }
        Assert.Equal(imageSum, Sha256(image));
        AssertNothingLeft(before);
    }

    /// <summary>A 4Kn disk (loop devices with 4096-byte logical sectors): its GPT in 4 KiB sectors captured and fitted
    /// onto a smaller 4Kn disk; sgdisk -v reads the new table, e2fsck -fn finds the shrunk ext4 clean and its file whole.</summary>
    [SkippableFact]
    public void FourKnDiskFitsOntoASmallerFourKnDisk()
    {
        string binary = RequireTools();
        string content = Directory.CreateDirectory(_scratch.File("content")).FullName;
        byte[] data = RandomNumberGenerator.GetBytes(8 * (int)MiB);
        File.WriteAllBytes(Path.Combine(content, "random.bin"), data);
        string sum = Convert.ToHexStringLower(SHA256.HashData(data));
        string image = _scratch.File("4kn.lim");
        using (LoopDevice source = LoopDevice.Attach(_scratch.SparseFile("4kn.img", 128 * MiB), sectorSize: 4096))
        {
            ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=256, size=24576, type=linux\n", "-q", source.Path);
            string partition = Assert.Single(source.ScanPartitions());
            ExternalTool.Run("mkfs.ext4", "-q", "-F", "-d", content, partition);
            ExternalTool.Run(binary, "capture", source.Path, image);
        }
        string imageSum = Sha256(image);
        using LoopDevice target = LoopDevice.Attach(_scratch.SparseFile("4kn-small.img", 48 * MiB), sectorSize: 4096);
        HashSet<string> before = Leftovers();

        ToolResult restore = ExternalTool.RunUnchecked(binary, null, "restore", image, target.Path, "--fit", "--yes", "--overlay-dir", _scratch.Path);

        Assert.True(restore.ExitCode == 0, $"restore --fit exited {restore.ExitCode}:\n{restore.StandardOutput}\n{restore.StandardError}");
        Assert.Contains("shrink", restore.StandardOutput);
        ToolResult gpt = ExternalTool.RunUnchecked("sgdisk", null, "-v", target.Path);
        Assert.True(gpt.StandardOutput.Contains("No problems found", StringComparison.Ordinal), gpt.StandardOutput);
        string restored = Assert.Single(target.ScanPartitions());
        ExternalTool.Run("e2fsck", "-fn", restored);
        string cat = ExternalTool.Run("sh", "-c", $"debugfs -R 'cat /random.bin' '{restored}' 2>/dev/null | sha256sum");
        Assert.Equal(sum, cat.Split(' ')[0]);
        Assert.Equal(imageSum, Sha256(image));
        AssertNothingLeft(before);
    }

    /// <summary>What --fit does not take is a usage error (exit 2) before anything is opened.</summary>
    [SkippableTheory]
    [InlineData("--discard", "--fit writes only the used blocks it copies")]
    [InlineData("--layout=2=lots", "'lots' is not a size")]
    [InlineData("--layout=2=1G,2=2G", "partition 2 is given twice")]
    [InlineData("second.img", "--fit takes one image file or store URL (not standard input) and one target")]
    public void FitMisuseIsAUsageError(string extra, string message)
    {
        string binary = PublishedBinary.Require();
        string target = _scratch.SparseFile("t.img", MiB);
        _scratch.SparseFile("second.img", MiB);
        string argument = extra == "second.img" ? _scratch.File("second.img") : extra;

        ToolResult restore = ExternalTool.RunUnchecked(binary, null, "restore", _scratch.File("none.lim"), target, argument, "--fit", "--yes");

        Assert.True(restore.ExitCode == 2, $"exited {restore.ExitCode}:\n{restore.StandardError}");
        Assert.Contains(message, restore.StandardError);
    }

    private string RequireTools()
    {
        string binary = PublishedBinary.Require();
        Privileges.RequireRoot("--fit shrinks filesystems on loop devices");
        Privileges.RequireLoopDevices("--fit shrinks filesystems on loop devices");
        ExternalTool.Require("nbdkit", "nbdkit");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        ExternalTool.Require("resize2fs", "e2fsprogs");
        ExternalTool.Require("ntfsresize", "ntfs-3g");
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mcopy", "mtools");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) for nbdfuse and ntfs-3g");
        return binary;
    }

    /// <summary>The demo's disk, 256 MiB with a third of ext4 and NTFS filled, and its image.</summary>
    private (string Binary, string Disk, string Image) CaptureDemoDisk()
    {
        string binary = RequireTools();
        string disk = _scratch.File("disk.img");
        ExternalTool.Run("env", "TEST_DISK_EXT4_FILL=30", "TEST_DISK_NTFS_FILL=30", "bash",
            RepositoryScripts.Path("make-test-disk.sh"), disk, "256M");
        string image = _scratch.File("disk.lim");
        ExternalTool.Run(binary, "capture", disk, image);
        return (binary, disk, image);
    }

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>What a view leaves when it is not cleaned up: state directories, FUSE mounts beneath them, loop devices
    /// on files beneath them, processes whose command line names them.</summary>
    private static HashSet<string> Leftovers()
    {
        var found = new HashSet<string>();
        if (Directory.Exists(StateRoot))
        {
            found.UnionWith(Directory.GetDirectories(StateRoot).Select(d => $"dir {d}"));
        }
        found.UnionWith(File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4])
            .Where(m => m.StartsWith(StateRoot, StringComparison.Ordinal)).Select(m => $"mount {m}"));
        found.UnionWith(ExternalTool.Run("losetup", "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(StateRoot, StringComparison.Ordinal)).Select(l => $"loop {l}"));
        foreach (string process in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(process, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(StateRoot, StringComparison.Ordinal))
                {
                    found.Add($"process {Path.GetFileName(process)} {commandLine}");
                }
            }
            catch (IOException)
            {
                // The process ended while it was looked at.
            }
        }
        return found;
    }

    private static void AssertNothingLeft(HashSet<string> before)
    {
        HashSet<string> after = Leftovers();
        after.ExceptWith(before);
        Assert.True(after.Count == 0, "left behind:\n" + string.Join("\n", after));
    }
}
