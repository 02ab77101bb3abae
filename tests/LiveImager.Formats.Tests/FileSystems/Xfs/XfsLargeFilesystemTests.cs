using System.Text.RegularExpressions;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Xfs;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Xfs;

/// <summary>XFS above 16 TiB, where a filesystem block number no longer fits 32 bits: partclone.xfs computed
/// agno × agblocks in 32 bits there and marked the wrong blocks.</summary>
public sealed partial class XfsLargeFilesystemTests
{
    [Fact]
    public void BlockNumbersOfGroupsPast16TiBAreNotTruncated()
    {
        // 20 groups of 2^28 - 1 blocks of 4 KiB, as mkfs.xfs makes a 20 TiB filesystem: group 19 starts past 2^32.
        var superblock = new XfsSuperblock
        {
            BlockSize = 4096,
            AgBlocks = (1u << 28) - 1,
            AgCount = 20,
            AgBlockLog = 28,
            DataBlocks = 20UL * ((1u << 28) - 1),
        };

        Assert.Equal(5_100_273_645L + 7, superblock.LinearBlock(19, 7));
        Assert.Equal((5_100_273_645L + 7) * 4096, superblock.ByteOffset(19, 7));
        Assert.Equal(((1u << 28) - 1) - 0, (long)superblock.AgLength(19));
        Assert.Equal((19UL, 6UL), superblock.SplitFsBlock((19UL << 28) | 6));
    }

    /// <summary>A real 20 TiB filesystem: mkfs.xfs on a sparse file (inside an XFS image, since the host's ext4 caps a
    /// file at 16 TiB), files written through a mount into groups past 2^32 blocks, and the map checked against
    /// xfs_db's own list of free extents and the files' extents. The map is made coarse (at most 2^24 blocks of
    /// 2 MiB) so that the test allocates 2 MiB, not the 320 MiB a 20 TiB map at 8 KiB takes.</summary>
    [SkippableFact]
    public void Filesystem20TiBMapsGroupsPast2To32Blocks()
    {
        XfsTestVolume.RequireTools();
        using var scratch = new ScratchDirectory();
        string outer = scratch.SparseFile("outer.img", 2L << 30);
        ExternalTool.Run("mkfs.xfs", "-q", "-f", outer);
        using var outerMount = XfsMount.Mount(scratch, outer, readOnly: false);
        string huge = Path.Combine(outerMount.Directory, "huge.img");
        using (var stream = File.Create(huge))
        {
            stream.SetLength(20L << 40);
        }
        try
        {
            // -K: no discard of 20 TiB; a 64 MiB log instead of the default 1 GiB, which the outer image cannot hold.
            ExternalTool.Run("mkfs.xfs", "-q", "-f", "-K", "-l", "size=64m", huge);
            var files = new List<string>();
            using (var mount = XfsMount.Mount(scratch, huge, readOnly: false))
            {
                // New directories rotate through the groups, and a file's blocks go to its directory's group.
                var random = new Random(20);
                for (int i = 0; i < 24; i++)
                {
                    string dir = Directory.CreateDirectory(Path.Combine(mount.Directory, $"d{i:D2}")).FullName;
                    var data = new byte[300_000];
                    random.NextBytes(data);
                    File.WriteAllBytes(Path.Combine(dir, "f"), data);
                    files.Add($"d{i:D2}/f");
                }
            }
            long agBlocks = long.Parse(XfsTestVolume.SuperblockField(huge, "agblocks"));
            long agCount = long.Parse(XfsTestVolume.SuperblockField(huge, "agcount"));
            Assert.True(agCount * agBlocks > 1L << 32, "the filesystem has more than 2^32 blocks");

            FileSystemAnalysis analysis;
            using (var stream = File.OpenRead(huge))
            {
                analysis = new XfsModule(maxMapBlocks: 1L << 24).Analyze(new StreamBlockSource(stream));
            }

            Assert.Equal("xfs v5 free-space B+trees", analysis.Method);
            int unitShift = 9;
            Assert.Equal(4096 << unitShift, analysis.BlockSize);
            Assert.Equal([$"xfs has {XfsTestVolume.SuperblockField(huge, "dblocks")} blocks, more than a map holds: mapped in "
                + "units of 512 blocks, each copied unless wholly free"], analysis.Warnings);

            // Exactly the units wholly inside xfs_db's free extents are free.
            long expectedFree = 0;
            foreach (Match match in FreeExtentRegex().Matches(ExternalTool.Run("xfs_db", "-r", "-f", "-c", "freesp -d", huge)))
            {
                long start = (long.Parse(match.Groups[1].Value) * agBlocks) + long.Parse(match.Groups[2].Value);
                long end = start + long.Parse(match.Groups[3].Value);
                expectedFree += Math.Max(0, (end >> unitShift) - ((start + (1L << unitShift) - 1) >> unitShift));
            }
            Assert.Equal(expectedFree, analysis.Map.BlockCount - analysis.Map.UsedCount);

            // Every group's headers and every file's blocks are used, those past block 2^32 included.
            for (long ag = 0; ag < agCount; ag++)
            {
                Assert.True(analysis.Map.IsUsed((ag * agBlocks) >> unitShift), $"the headers of group {ag} are used");
            }
            var extents = XfsTestVolume.FileExtents(huge, files);
            Assert.Contains(extents, extent => extent.Block >= 1L << 32);
            foreach (var (block, count) in extents)
            {
                for (long unit = block >> unitShift; unit <= (block + count - 1) >> unitShift; unit++)
                {
                    Assert.True(analysis.Map.IsUsed(unit), $"file blocks {block}+{count} are used");
                }
            }
        }
        finally
        {
            File.Delete(huge);
        }
    }

    [GeneratedRegex(@"^\s*(\d+)\s+(\d+)\s+(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex FreeExtentRegex();
}
