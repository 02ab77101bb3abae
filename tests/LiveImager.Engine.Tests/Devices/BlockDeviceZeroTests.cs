using LiveImager.Engine.Devices;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Devices;

/// <summary>Zeros are never moved as bytes: <see cref="BlockDevice.Zero"/> punches a hole in a file and calls
/// BLKZEROOUT on a device. The loop cases need root.</summary>
public sealed class BlockDeviceZeroTests : IDisposable
{
    private const int FileBytes = 16 << 20;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private (string Path, byte[] Content) RandomFile(string name, int length = FileBytes)
    {
        var content = new byte[length];
        new Random(length ^ name.Length).NextBytes(content);
        string path = _scratch.File(name);
        File.WriteAllBytes(path, content);
        return (path, content);
    }

    /// <summary>Bytes the file's blocks take on disk (stat's st_blocks × 512).</summary>
    private static long AllocatedBytes(string path) => long.Parse(ExternalTool.Run("stat", "--format=%b", path).Trim()) * 512;

    [Theory]
    [InlineData(1 << 20, 8 << 20)]
    [InlineData(1000, (8 << 20) + 777)]
    public void AFileGetsAHolePunchedAndReadsZerosThere(int offset, int length)
    {
        var (path, content) = RandomFile("file.img");
        long before = AllocatedBytes(path);

        using (var device = BlockDevice.OpenWrite(path))
        {
            Assert.Equal(ZeroMethod.PunchHole, device.Zero(offset, length));
            Assert.Equal(FileBytes, device.Length);
        }

        Array.Clear(content, offset, length);
        Assert.Equal(content, File.ReadAllBytes(path));
        // Only whole filesystem blocks are freed; the partial ones at the edges read as zeros but stay allocated.
        long freed = before - AllocatedBytes(path);
        Assert.True(freed >= length - 8192, $"{freed} bytes freed for a {length}-byte hole");
    }

    [Fact]
    public void AZeroRangePastAFilesEndGrowsItSparsely()
    {
        var (path, content) = RandomFile("short.img", 1 << 20);
        using (var device = BlockDevice.OpenWrite(path))
        {
            Assert.Equal(ZeroMethod.PunchHole, device.Zero(512 << 10, 4 << 20));
            Assert.Equal((512 << 10) + (4 << 20), device.Length);
        }
        byte[] after = File.ReadAllBytes(path);
        Assert.Equal(content.AsSpan(0, 512 << 10).ToArray(), after[..(512 << 10)]);
        Assert.DoesNotContain(after[(512 << 10)..], b => b != 0);
        Assert.True(AllocatedBytes(path) <= 512 << 10, $"{AllocatedBytes(path)} bytes allocated");
    }

    [SkippableTheory]
    [InlineData(512, 1 << 20, 8 << 20)]
    [InlineData(512, 1000, (8 << 20) + 777)]
    [InlineData(4096, 4096, 8 << 20)]
    public void ALoopDeviceTakesBlkZeroout(int sectorSize, int offset, int length)
    {
        LoopDevice.RequireRoot();
        var (path, content) = RandomFile("disk.img");
        using (var loop = LoopDevice.Attach(path, sectorSize))
        {
            using var device = BlockDevice.OpenWrite(loop.Path);
            Assert.Equal(ZeroMethod.ZeroOut, device.Zero(offset, length));
            var readBack = new byte[FileBytes];
            device.ReadAt(0, readBack);
            Array.Clear(content, offset, length);
            Assert.Equal(content, readBack);
        }
        Assert.Equal(content, File.ReadAllBytes(path));
    }
}
