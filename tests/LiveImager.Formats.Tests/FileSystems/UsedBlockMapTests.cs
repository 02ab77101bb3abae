using LiveImager.Formats.FileSystems;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems;

public class UsedBlockMapTests
{
    [Fact]
    public void NewMapHasEveryBlockUsed()
    {
        var map = new UsedBlockMap(130, 4096);

        Assert.Equal(130, map.UsedCount);
        Assert.Equal([(0L, 130L)], map.UsedRuns());
        Assert.True(map.IsUsed(129));
    }

    [Fact]
    public void FreeingAcrossWordBoundariesKeepsTheCountExact()
    {
        var map = new UsedBlockMap(200, 1024);

        map.MarkFree(60, 80);
        map.MarkFree(70, 10);
        map.MarkUsed(100, 5);

        Assert.Equal(200 - 80 + 5, map.UsedCount);
        Assert.Equal([(0L, 60L), (100L, 5L), (140L, 60L)], map.UsedRuns());
        Assert.False(map.IsUsed(60));
        Assert.True(map.IsUsed(104));
        Assert.False(map.IsUsed(105));
    }

    [Fact]
    public void FirstFreeLooksOnlyInsideTheRangeAcrossWords()
    {
        var map = new UsedBlockMap(300, 4096);
        map.MarkFree(130);
        map.MarkFree(299);

        Assert.Equal(130, map.FirstFree(1, 200));
        Assert.Equal(130, map.FirstFree(130, 1));
        Assert.Equal(130, map.FirstFree(0, 130));
        Assert.Equal(299, map.FirstFree(131, 168));
        Assert.Equal(299, map.FirstFree(131, 169));
        Assert.Equal(300, map.FirstFree(300, 0));
        Assert.Throws<DiskFormatException>(() => map.FirstFree(250, 51));
    }

    [Fact]
    public void BitmapRoundTripsAndIgnoresBitsPastTheEnd()
    {
        var map = new UsedBlockMap(77, 512);
        map.MarkFree(3, 40);
        byte[] bits = map.ToBitmap();
        bits[^1] |= 0x80; // bit 79: past block 76, must not count

        var copy = UsedBlockMap.FromBitmap(bits, 77, 512);

        Assert.Equal(map.UsedCount, copy.UsedCount);
        Assert.Equal(map.UsedRuns(), copy.UsedRuns());
    }

    [Fact]
    public void RangesOutsideTheMapAreRejectedByName()
    {
        var map = new UsedBlockMap(10, 4096);

        var e = Assert.Throws<DiskFormatException>(() => map.MarkFree(8, 3));

        Assert.Equal("used-block map: block range = 8+3 at byte -1: lies outside the map's 10 blocks", e.Message);
    }

    [Fact]
    public void AbsurdSizesAreRejectedBeforeAllocating()
    {
        Assert.Throws<DiskFormatException>(() => new UsedBlockMap(UsedBlockMap.MaxBlocks + 1, 4096));
        Assert.Throws<DiskFormatException>(() => new UsedBlockMap(10, 3000));
    }
}

public class FileSystemAnalysisTests
{
    [Fact]
    public void BytesPastTheFileSystemAreCopiedAndJoinAFinalUsedRun()
    {
        var map = new UsedBlockMap(8, 4096);
        map.MarkFree(2, 3);
        var analysis = new FileSystemAnalysis(FileSystemKind.Ntfs, null, null, map, "test", []);

        // The partition is one 512-byte sector longer than the filesystem, as NTFS's backup boot sector is.
        var runs = analysis.UsedByteRuns(8 * 4096 + 512).ToList();

        Assert.Equal([(0L, 8192L), (5 * 4096L, 3 * 4096L + 512)], runs);
    }

    [Fact]
    public void AFreeEndStillCopiesTheTail()
    {
        var map = new UsedBlockMap(4, 1024);
        map.MarkFree(1, 3);
        var analysis = new FileSystemAnalysis(FileSystemKind.Ext4, null, null, map, "test", []);

        Assert.Equal([(0L, 1024L), (4096L, 100L)], analysis.UsedByteRuns(4196));
    }

    [Fact]
    public void AMapLargerThanThePartitionIsClipped()
    {
        var analysis = FileSystemAnalysis.WholeCopy(FileSystemKind.Unknown, 10 * 4096, "unknown filesystem");

        Assert.Equal([(0L, 5000L)], analysis.UsedByteRuns(5000));
        Assert.True(analysis.IsWholeCopy);
    }

    [Theory]
    [InlineData(64L << 30, 4096)]
    [InlineData((1L << 40) + 12345, 65536)]
    [InlineData(20L << 40, 2 << 20)]
    public void AWholeCopyOfAnyPartitionKeepsItsMapSmallAndCoversEveryByte(long partitionBytes, int blockSize)
    {
        // A whole copy of a partition past 16 TiB used to exceed the map's block limit and throw.
        var analysis = FileSystemAnalysis.WholeCopy(FileSystemKind.Unknown, partitionBytes, "unknown filesystem");

        Assert.Equal(blockSize, analysis.BlockSize);
        Assert.True(analysis.Map.BlockCount <= FileSystemAnalysis.WholeCopyMaxBlocks);
        Assert.Equal([(0L, partitionBytes)], analysis.UsedByteRuns(partitionBytes));
    }
}
