using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Xfs;

/// <summary>Real XFS filesystems from mkfs.xfs, filled through the kernel: the map against partclone.xfs's, and a
/// used-blocks-only copy against xfs_repair -n and every file's hash through a read-only mount.</summary>
public sealed class XfsFileSystemTests
{
    /// <summary>The cases: mkfs.xfs options and the image size in MiB. Debian 12's xfsprogs 6.1 refuses a filesystem
    /// under 300 MiB and a log under 64 MiB, so the images are 512 MiB (sparse) and AGs of 80 MiB give seven groups.</summary>
    private static readonly Dictionary<string, (string Options, int SizeMiB)> s_cases = new()
    {
        ["v5"] = ("-d agsize=80m", 512),
        ["v4"] = ("-m crc=0 -d agsize=80m", 512),
        ["v4-no-lazy-count"] = ("-m crc=0 -l lazy-count=0 -d agsize=80m", 512),
        ["v5-1k-blocks"] = ("-b size=1024 -d agsize=80m", 512),
        ["v5-4k-sectors"] = ("-s size=4096 -d agsize=80m", 512),
        ["v5-rmapbt"] = ("-m rmapbt=1 -d agsize=80m", 512),
        ["v5-defaults"] = ("", 640),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void MapCoversPartcloneAndCopyIsComplete(string name)
    {
        XfsTestVolume.RequireTools();
        ExternalTool.Require("partclone.xfs", "partclone");
        ExternalTool.Require("blkid", "util-linux");
        using var scratch = new ScratchDirectory();
        var (options, sizeMiB) = s_cases[name];
        var volume = XfsTestVolume.Create(scratch, name, options, sizeMiB);

        var analysis = ImageAnalysis.Analyze(volume.Path);

        Assert.False(analysis.IsWholeCopy, $"{analysis.Method}: {string.Join("; ", analysis.Warnings)}");
        Assert.Empty(analysis.Warnings);
        Assert.Equal(FileSystemKind.Xfs, analysis.Kind);
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "TYPE", volume.Path).Trim(), analysis.Kind.ToName());
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "UUID", volume.Path).Trim(), analysis.Uuid);
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "LABEL", volume.Path).Trim(), analysis.Label);
        string version = options.Contains("crc=0", StringComparison.Ordinal) ? "4" : "5";
        Assert.Equal($"xfs v{version} free-space B+trees", analysis.Method);
        Assert.Equal(int.Parse(XfsTestVolume.SuperblockField(volume.Path, "blocksize")), analysis.BlockSize);

        // Free blocks are what xfs_db counts in the AGFs' free-space trees (agf_freeblks): the map frees exactly those.
        long agCount = long.Parse(XfsTestVolume.SuperblockField(volume.Path, "agcount"));
        long freeBlocks = 0;
        for (long ag = 0; ag < agCount; ag++)
        {
            freeBlocks += long.Parse(XfsTestVolume.DbField(volume.Path, $"agf {ag}", "freeblks"));
        }
        Assert.Equal(analysis.Map.BlockCount - freeBlocks, analysis.Map.UsedCount);

        var (partcloneUsed, partcloneBlockSize) = Partclone.UsedBlocks("xfs", volume.Path, scratch);
        long oracle = partcloneUsed * partcloneBlockSize;
        long ours = analysis.Map.UsedBytes;
        Assert.True(ours >= oracle, $"ours {ours} bytes is less than partclone.xfs's {oracle}");
        Assert.True(ours <= oracle + (oracle / 100) + (1 << 20), $"ours {ours} bytes is over partclone.xfs's {oracle} + 1% + 1 MiB");
        Assert.True(analysis.Map.UsedCount < analysis.Map.BlockCount / 2, "most of a lightly filled filesystem is free");

        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(volume.Path, copy, analysis, 0, new FileInfo(volume.Path).Length);
        volume.AssertCopyIsComplete(copy, scratch);
    }
}
