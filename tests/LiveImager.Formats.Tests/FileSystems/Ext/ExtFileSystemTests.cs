using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Ext;

/// <summary>Real ext2/3/4 filesystems from mke2fs: the map against partclone's, and a used-blocks-only copy against
/// e2fsck and the files' hashes.</summary>
public sealed class ExtFileSystemTests
{
    /// <summary>The cases: mke2fs options and the image size in MiB. Small images get 1 KiB blocks from mke2fs.conf's
    /// "small" type unless -b says otherwise; -g (clusters per group under bigalloc) makes groups small enough that most
    /// cases have several, some of them BLOCK_UNINIT.</summary>
    private static readonly Dictionary<string, (string Options, int SizeMiB)> s_cases = new()
    {
        ["ext2"] = ("-t ext2", 32),
        ["ext2-no-sparse-super"] = ("-t ext2 -O ^sparse_super,^resize_inode -g 2048", 20),
        ["ext3"] = ("-t ext3", 32),
        ["ext3-2k"] = ("-t ext3 -b 2048 -g 4096", 40),
        ["ext4"] = ("-t ext4", 32),
        ["ext4-1k"] = ("-t ext4 -b 1024", 48),
        ["ext4-4k"] = ("-t ext4 -b 4096 -g 2048", 64),
        ["ext4-no-flex-bg"] = ("-t ext4 -O ^flex_bg", 32),
        ["ext4-bigalloc"] = ("-t ext4 -O bigalloc -C 16384 -g 1024", 64),
        ["ext4-bigalloc-2k"] = ("-t ext4 -b 1024 -O bigalloc -C 2048", 64),
        ["ext4-bigalloc-4k"] = ("-t ext4 -b 4096 -O bigalloc -C 65536", 64),
        ["ext4-meta-bg"] = ("-t ext4 -O meta_bg,^resize_inode -g 1024", 48),
        ["ext4-32bit"] = ("-t ext4 -O ^64bit", 32),
        ["ext4-lazy-itable"] = ("-t ext4 -E lazy_itable_init=1 -g 2048", 32),
        ["ext4-gdt-csum"] = ("-t ext4 -O ^metadata_csum,uninit_bg -g 2048", 32),
        ["ext4-sparse-super2"] = ("-t ext4 -O sparse_super2 -g 1024", 32),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void MapMatchesPartcloneAndCopyIsComplete(string name)
    {
        ExtTestImage.RequireTools();
        ExternalTool.Require("partclone.extfs", "partclone");
        ExternalTool.Require("blkid", "util-linux");
        using var scratch = new ScratchDirectory();
        var (options, sizeMiB) = s_cases[name];
        var image = ExtTestImage.Create(scratch, name, options, sizeMiB);

        var analysis = ExtTestImage.Analyze(image.Path);

        Assert.False(analysis.IsWholeCopy, $"{analysis.Method}: {string.Join("; ", analysis.Warnings)}");
        Assert.Empty(analysis.Warnings);
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "TYPE", image.Path).Trim(), analysis.Kind.ToName());
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "UUID", image.Path).Trim(), analysis.Uuid);
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "LABEL", image.Path).Trim(), analysis.Label);
        bool bigalloc = options.Contains("bigalloc", StringComparison.Ordinal);
        Assert.Equal($"{analysis.Kind.ToName()} {(bigalloc ? "cluster" : "block")} bitmaps", analysis.Method);
        Assert.Equal(int.Parse(ExtTestImage.SuperblockField(image.Path, bigalloc ? "Cluster size" : "Block size")),
            analysis.BlockSize);

        var (partcloneUsed, partcloneBlockSize) = Partclone.UsedBlocks("extfs", image.Path, scratch);
        if (bigalloc)
        {
            // partclone counts blocks, testing each in the cluster bitmap; every block of a used cluster is used,
            // so its blocks fill whole clusters except the last, cut at s_blocks_count.
            long fsBytes = long.Parse(ExtTestImage.SuperblockField(image.Path, "Block count")) * partcloneBlockSize;
            Assert.Equal(partcloneUsed * partcloneBlockSize, Math.Min(analysis.Map.UsedBytes + analysis.UnusedMetadataBytes, fsBytes));
        }
        else
        {
            Assert.Equal(partcloneBlockSize, analysis.BlockSize);
            // partclone copies every inode table whole; the map leaves out their never-used ends.
            Assert.Equal(partcloneUsed, analysis.Map.UsedCount + analysis.UnusedMetadataBytes / analysis.BlockSize);
        }
        Assert.True(analysis.Map.UsedCount < analysis.Map.BlockCount / 2, "most of a lightly filled filesystem is free");

        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(image.Path, copy, analysis, 0, new FileInfo(image.Path).Length);
        image.AssertCopyIsComplete(copy, scratch);
    }

    [SkippableFact]
    public void PartitionInsideALargerDiskIsMappedThroughASlice()
    {
        ExtTestImage.RequireTools();
        ExternalTool.Require("sfdisk", "fdisk");
        using var scratch = new ScratchDirectory();
        var image = ExtTestImage.Create(scratch, "slice", "-t ext4", 24);
        const long partitionOffset = 1 << 20;
        long partitionBytes = new FileInfo(image.Path).Length;
        string disk = scratch.SparseFile("disk.img", partitionOffset + partitionBytes + (4 << 20));
        ExternalTool.RunWithInput("sfdisk", $"label: gpt\nstart=2048, size={partitionBytes / 512}, type=linux\n", "-q", disk);
        CopyRange(image.Path, 0, disk, partitionOffset, partitionBytes);

        var analysis = ExtTestImage.Analyze(disk, partitionOffset, partitionBytes);

        var whole = ExtTestImage.Analyze(image.Path);
        Assert.Equal("ext4 block bitmaps", analysis.Method);
        Assert.Equal(whole.Map.ToBitmap(), analysis.Map.ToBitmap());
        string copy = scratch.File("copy-disk.img");
        UsedBlockCopy.Copy(disk, copy, analysis, partitionOffset, partitionBytes);
        string extracted = scratch.SparseFile("copy-partition.img", partitionBytes);
        CopyRange(copy, partitionOffset, extracted, 0, partitionBytes);
        image.AssertCopyIsComplete(extracted, scratch);
    }

    private static void CopyRange(string source, long sourceOffset, string destination, long destinationOffset, long length)
    {
        using var input = new FileStream(source, FileMode.Open, FileAccess.Read);
        using var output = new FileStream(destination, FileMode.Open, FileAccess.Write);
        input.Position = sourceOffset;
        output.Position = destinationOffset;
        var buffer = new byte[1 << 20];
        for (long done = 0; done < length;)
        {
            int chunk = input.Read(buffer, 0, (int)Math.Min(buffer.Length, length - done));
            if (chunk == 0)
            {
                throw new EndOfStreamException(source);
            }
            output.Write(buffer, 0, chunk);
            done += chunk;
        }
    }
}
