using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.Formats.Tests.FileSystems.Btrfs;

/// <summary>Real btrfs filesystems from mkfs.btrfs, filled through a kernel mount: the map against btrfs's own block
/// group counts, and a used-blocks-only copy against btrfs check, a mount and every file's hash.</summary>
public sealed class BtrfsModuleTests(ITestOutputHelper output)
{
    /// <summary>The cases: mkfs.btrfs options, size in MiB, mount options, and whether to add a subvolume and snapshots.</summary>
    private static readonly Dictionary<string, (string Mkfs, int SizeMiB, string Mount, bool Subvolumes)> s_cases = new()
    {
        ["default"] = ("", 512, "defaults", false),
        ["single"] = ("-m single -d single", 384, "defaults", false),
        ["dup"] = ("-m dup -d dup", 512, "defaults", false),
        ["snapshots"] = ("", 512, "defaults", true),
        ["zstd"] = ("", 512, "compress=zstd", true),
        ["mixed-sha256"] = ("--mixed --csum sha256 --nodesize 4096", 256, "defaults", false),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void MapCoversWhatBtrfsCountsAndCopyIsComplete(string name)
    {
        using var scratch = new ScratchDirectory();
        var (mkfs, sizeMiB, mount, subvolumes) = s_cases[name];
        var volume = BtrfsTestVolume.Create(scratch, name, mkfs, sizeMiB, mount, subvolumes);

        var analysis = ImageAnalysis.Analyze(volume.Path);

        Assert.False(analysis.IsWholeCopy, $"{analysis.Method}: {string.Join("; ", analysis.Warnings)}");
        Assert.Empty(analysis.Warnings);
        Assert.Equal("btrfs extent tree", analysis.Method);
        Assert.Equal(FileSystemKind.Btrfs, analysis.Kind);
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "TYPE", volume.Path).Trim(), analysis.Kind.ToName());
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "UUID", volume.Path).Trim(), analysis.Uuid);
        Assert.Equal("li-" + name, analysis.Label);
        Assert.Equal(4096, analysis.BlockSize);
        long oracle = BtrfsTestVolume.OracleUsedBytes(volume.Path);
        output.WriteLine($"{name}: map {analysis.Map.UsedBytes} bytes used, btrfs block groups {oracle} bytes");
        BtrfsTestVolume.AssertUsedBytesNearOracle(analysis.Map.UsedBytes, oracle);
        Assert.True(analysis.Map.UsedBytes < (long)sizeMiB << 19, "most of a lightly filled filesystem is free");

        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(volume.Path, copy, analysis, 0, new FileInfo(volume.Path).Length);
        volume.AssertCopyIsComplete(copy, scratch);
    }

    [SkippableFact]
    public void PartitionInsideALargerDiskIsMappedThroughASlice()
    {
        using var scratch = new ScratchDirectory();
        var volume = BtrfsTestVolume.Create(scratch, "slice", "", 300, copyBytes: 4 << 20, randomBytes: 8 << 20);
        const long partitionOffset = 1 << 20;
        long partitionBytes = new FileInfo(volume.Path).Length;
        string disk = scratch.SparseFile("disk.img", partitionOffset + partitionBytes + (4 << 20));
        using (var input = File.OpenRead(volume.Path))
        using (var output = new FileStream(disk, FileMode.Open, FileAccess.Write))
        {
            output.Position = partitionOffset;
            input.CopyTo(output);
        }

        var analysis = ImageAnalysis.Analyze(disk, partitionOffset, partitionBytes);

        Assert.Equal("btrfs extent tree", analysis.Method);
        Assert.Equal(ImageAnalysis.Analyze(volume.Path).Map.ToBitmap(), analysis.Map.ToBitmap());
    }
}
