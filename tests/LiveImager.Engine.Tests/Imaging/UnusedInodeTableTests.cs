using System.Text.RegularExpressions;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.FileSystems.Ext;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>A 1 TiB sparse ext4 holding a few hundred MiB: the inode tables past bg_itable_unused (16 GiB of them) are
/// neither read nor stored, and the restored filesystem, on a blank target and on one with random bytes where those
/// tables go, passes e2fsck, takes 10,000 new files in the groups whose tables were left out, and passes it again.
/// These need root (loop devices, mount).</summary>
public sealed partial class UnusedInodeTableTests : IDisposable
{
    private const long TiB = 1L << 40;
    private const long SmallBytes = 4L << 30;
    private const int FileCount = 24;
    private const int FileBytes = 12 << 20;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>discard: mke2fs discards a file, finds that it reads back as zeros and marks every table zeroed
    /// (ITABLE_ZEROED): the restore must clear that flag where a table end was left out. nodiscard: the tables are
    /// left for the kernel's lazy init, as on a reused disk, and the flag is already clear.</summary>
    [SkippableTheory]
    [InlineData("discard")]
    [InlineData("nodiscard")]
    public void OneTebibyteFilesystemStoresWhatAFourGibibyteOneStoresAndRestoresSound(string discard)
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("mke2fs", "e2fsprogs");
        ExternalTool.Require("dumpe2fs", "e2fsprogs");
        string options = $"lazy_itable_init=1,{discard}";
        string files = WriteFiles();
        string big = MakeFilesystem("big.img", TiB, options, files);
        string small = MakeFilesystem("small.img", SmallBytes, options, files);

        string bigImage = _scratch.File("big.lim");
        string smallImage = _scratch.File("small.lim");
        CaptureResult bigCapture = new CaptureJob(new CaptureOptions(big, bigImage, CheckFreeSpace: false)).Run(CancellationToken.None);
        CaptureResult smallCapture = new CaptureJob(new CaptureOptions(small, smallImage, CheckFreeSpace: false)).Run(CancellationToken.None);

        // The big one's extra groups add descriptors, bitmaps and a larger journal, all but a few MiB of them zeros.
        Assert.True(bigCapture.ImageBytes <= smallCapture.ImageBytes + (16L << 20),
            $"1 TiB image {bigCapture.ImageBytes} bytes, 4 GiB image {smallCapture.ImageBytes} bytes");
        List<GroupTable> source = Groups(big);
        long leftOutBytes = source.Sum(g => g.UnusedBlocks) * 4096;
        Assert.True(leftOutBytes > 15L << 30, $"only {leftOutBytes} bytes of inode tables are unused");
        Assert.True(bigCapture.DataBytes < 4L << 30, $"{bigCapture.DataBytes} bytes read from the 1 TiB filesystem");
        PartitionInfo partition = Assert.Single(new VerifyJob(new VerifyOptions(bigImage, Against: big)).Run(CancellationToken.None).Metadata.Partitions);
        Assert.Equal(leftOutBytes, partition.UnusedMetadataBytes);
        Assert.Equal(discard == "discard" ? [ExtInodeTableFixup.Name] : Array.Empty<string>(), partition.Fixups);

        string blank = _scratch.SparseFile("blank.img", TiB);
        RestoreAndUse(bigImage, blank, source);

        // Random bytes over the first 64 KiB of every left-out table end: where the kernel puts the next inodes.
        string stale = _scratch.SparseFile("stale.img", TiB);
        var random = new Random(11);
        var noise = new byte[64 << 10];
        using (var stream = new FileStream(stale, FileMode.Open, FileAccess.Write))
        {
            foreach (GroupTable group in source.Where(g => g.UnusedBlocks > 0))
            {
                random.NextBytes(noise);
                stream.Position = (group.TableEnd - group.UnusedBlocks) * 4096;
                stream.Write(noise, 0, (int)Math.Min(noise.Length, group.UnusedBlocks * 4096));
            }
        }
        RestoreAndUse(bigImage, stale, source);
    }

    /// <summary>Restores, checks, mounts without the kernel's lazy init (so the table ends keep whatever the target
    /// held), creates 10,000 files in 100 new directories, and checks again.</summary>
    private void RestoreAndUse(string image, string target, List<GroupTable> source)
    {
        RestoreResult result = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);
        Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
        AssertClean(target);
        List<GroupTable> restored = Groups(target);
        Assert.DoesNotContain(restored, g => g.UnusedBlocks > 0 && g.Zeroed);

        string mountPoint = Directory.CreateDirectory(_scratch.File("mnt-" + Path.GetFileNameWithoutExtension(target))).FullName;
        using (var loop = LoopDevice.Attach(target))
        {
            ExternalTool.Run("mount", "-o", "noinit_itable", loop.Path, mountPoint);
            try
            {
                for (int d = 0; d < 100; d++)
                {
                    string directory = Directory.CreateDirectory(Path.Combine(mountPoint, $"new{d:D3}")).FullName;
                    for (int f = 0; f < 100; f++)
                    {
                        File.WriteAllText(Path.Combine(directory, $"f{f:D3}"), $"{d}/{f}");
                    }
                }
            }
            finally
            {
                ExternalTool.Run("umount", mountPoint);
            }
        }
        AssertClean(target);
        List<GroupTable> used = Groups(target);
        int grown = source.Zip(used).Count(pair => pair.First.UnusedBlocks > 0 && pair.Second.UnusedInodes < pair.First.UnusedInodes);
        Assert.True(grown >= 10, $"only {grown} groups whose table end was left out took new inodes");
    }

    private static void AssertClean(string filesystem)
    {
        var fsck = ExternalTool.RunUnchecked("e2fsck", null, "-fn", filesystem);
        Assert.True(fsck.ExitCode == 0, $"e2fsck -fn {filesystem} failed ({fsck.ExitCode}):\n{fsck.StandardOutput}\n{fsck.StandardError}");
    }

    private string WriteFiles()
    {
        string directory = Directory.CreateDirectory(_scratch.File("files")).FullName;
        var random = new Random(5);
        var data = new byte[FileBytes];
        for (int i = 0; i < FileCount; i++)
        {
            random.NextBytes(data);
            File.WriteAllBytes(Path.Combine(directory, $"file{i:D2}"), data);
        }
        return directory;
    }

    /// <summary>mke2fs with <paramref name="extended"/> options on a sparse file, filled through a mount with
    /// noinit_itable, so the kernel's lazy init does not touch the inode tables meanwhile.</summary>
    private string MakeFilesystem(string name, long bytes, string extended, string files)
    {
        string path = _scratch.SparseFile(name, bytes);
        ExternalTool.Run("mke2fs", "-q", "-F", "-t", "ext4", "-E", extended, path);
        string mountPoint = Directory.CreateDirectory(_scratch.File("mnt-" + name)).FullName;
        using var loop = LoopDevice.Attach(path);
        ExternalTool.Run("mount", "-o", "noinit_itable", loop.Path, mountPoint);
        try
        {
            for (int part = 0; part < 4; part++)
            {
                string directory = Directory.CreateDirectory(Path.Combine(mountPoint, $"part{part}")).FullName;
                foreach (string file in Directory.GetFiles(files).Where((_, i) => i % 4 == part))
                {
                    File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
                }
            }
        }
        finally
        {
            ExternalTool.Run("umount", mountPoint);
        }
        return path;
    }

    /// <summary>Each group's inode table end (exclusive), unused inodes and unused table blocks, and whether
    /// ITABLE_ZEROED is set, from dumpe2fs (4 KiB blocks, 256-byte inodes, 8192 inodes per group: mke2fs's defaults).</summary>
    private static List<GroupTable> Groups(string filesystem)
    {
        string dump = ExternalTool.Run("dumpe2fs", filesystem);
        var groups = new List<GroupTable>();
        foreach (Match match in GroupPattern().Matches(dump))
        {
            long tableEnd = long.Parse(match.Groups["end"].Value) + 1;
            int unused = int.Parse(match.Groups["unused"].Value);
            long usedBlocks = ((8192 - unused) * 256L + 4095) / 4096;
            groups.Add(new GroupTable(tableEnd, unused, 512 - usedBlocks, match.Groups["flags"].Value.Contains("ITABLE_ZEROED")));
        }
        Assert.Equal(GroupCount().Count(dump), groups.Count);
        return groups;
    }

    [GeneratedRegex(@"^Group \d+: [^\n\[]*(?:\[(?<flags>[^\]]*)\])?[^\n]*\n(?:.*\n)*?  Inode table at \d+-(?<end>\d+).*\n.*?(?<unused>\d+) unused inodes", RegexOptions.Multiline)]
    private static partial Regex GroupPattern();

    [GeneratedRegex(@"^Group \d+:", RegexOptions.Multiline)]
    private static partial Regex GroupCount();

    private sealed record GroupTable(long TableEnd, int UnusedInodes, long UnusedBlocks, bool Zeroed);
}
