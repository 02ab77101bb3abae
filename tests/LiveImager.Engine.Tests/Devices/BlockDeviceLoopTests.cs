using LiveImager.Engine.Devices;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Devices;

/// <summary>BlockDevice on real loop devices, checked against util-linux's blockdev; needs root.</summary>
public sealed class BlockDeviceLoopTests : IDisposable
{
    private const long DiskBytes = 32L * 1024 * 1024;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableTheory]
    [InlineData(512)]
    [InlineData(4096)]
    public void SizeAndSectorSizesAgreeWithBlockdev(int sectorSize)
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("blockdev", "util-linux");
        using var loop = LoopDevice.Attach(_scratch.SparseFile("disk.img", DiskBytes), sectorSize);
        string[] expected = ExternalTool.Run("blockdev", "--getsize64", "--getss", "--getpbsz", loop.Path)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

        using var device = BlockDevice.OpenRead(loop.Path);
        Assert.True(device.IsBlockDevice);
        Assert.Equal(DiskBytes, device.Length);
        Assert.Equal(long.Parse(expected[0]), device.Length);
        Assert.Equal(int.Parse(expected[1]), device.LogicalSectorSize);
        Assert.Equal(int.Parse(expected[2]), device.PhysicalSectorSize);
        Assert.Equal(sectorSize, device.LogicalSectorSize);
        Assert.Equal(Math.Max(4096, sectorSize), device.Alignment);
    }

    [SkippableFact]
    public void DirectReadsMatchTheBackingFileByteForByte()
    {
        LoopDevice.RequireRoot();
        string file = _scratch.SparseFile("disk.img", DiskBytes);
        var content = new byte[1024 * 1024];
        new Random(11).NextBytes(content);
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 5 * 1024 * 1024;
            stream.Write(content);
        }
        using var loop = LoopDevice.Attach(file);
        using var device = BlockDevice.OpenRead(loop.Path);
        Assert.True(device.IsDirect);
        using var pool = new AlignedBufferPool(1, content.Length);
        using var buffer = pool.Rent();
        Assert.Equal(content.Length, device.ReadAligned(5 * 1024 * 1024, buffer.Span));
        Assert.Equal(content, buffer.Span.ToArray());

        var unaligned = new byte[10_000];
        device.ReadAt(5 * 1024 * 1024 + 777, unaligned);
        Assert.Equal(content.AsSpan(777, 10_000).ToArray(), unaligned);

        Assert.Equal(0, device.ReadAligned(DiskBytes, buffer.Span));
    }

    [SkippableFact]
    public void WritesReachTheBackingFileAfterFlush()
    {
        LoopDevice.RequireRoot();
        string file = _scratch.SparseFile("disk.img", DiskBytes);
        var content = new byte[8192];
        new Random(12).NextBytes(content);
        var patch = new byte[300];
        new Random(13).NextBytes(patch);
        using (var loop = LoopDevice.Attach(file, sectorSize: 4096))
        using (var device = BlockDevice.OpenWrite(loop.Path))
        using (var pool = new AlignedBufferPool(1, 8192))
        using (var buffer = pool.Rent())
        {
            content.CopyTo(buffer.Span);
            device.WriteAligned(DiskBytes - 8192, buffer.Span);
            device.WriteAt(1000, patch);
            Assert.Throws<ArgumentException>(() => device.WriteAligned(0, buffer.Span[..512]));
            Assert.Throws<ArgumentOutOfRangeException>(() => device.WriteAt(DiskBytes - 10, patch));
            device.Flush();
        }
        byte[] bytes = File.ReadAllBytes(file);
        Assert.Equal(content, bytes.AsSpan((int)DiskBytes - 8192).ToArray());
        Assert.Equal(patch, bytes.AsSpan(1000, 300).ToArray());
        Assert.All(bytes.AsSpan(0, 1000).ToArray(), b => Assert.Equal(0, b));
    }

    [SkippableFact]
    public void ASecondExclusiveOpenIsReportedBusy()
    {
        LoopDevice.RequireRoot();
        using var loop = LoopDevice.Attach(_scratch.SparseFile("disk.img", DiskBytes));
        using var first = BlockDevice.OpenWrite(loop.Path);
        var error = Assert.Throws<DeviceBusyException>(() => BlockDevice.OpenRead(loop.Path));
        Assert.Equal(loop.Path, error.Path);
        Assert.Contains(loop.Path, error.Message);
        Assert.Contains("mounted partition", error.Message);
    }

    [SkippableFact]
    public void RereadPartitionsReplacesTheKernelsStaleView()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("sfdisk", "fdisk");
        string file = _scratch.SparseFile("disk.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, size=16384\n", "-q", file);
        using var loop = LoopDevice.Attach(file, partitionScan: true);
        loop.ScanPartitions();
        string start = $"/sys/block/{loop.Name}/{loop.Name}p1/start";
        Assert.Equal("2048", File.ReadAllText(start).Trim());

        // Move the partition behind the kernel's back; only a re-read makes the kernel drop the stale 2048 start
        // (and, on a kernel with a GPT parser, see 4096 instead).
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=4096, size=16384\n", "--no-reread", "--no-tell-kernel", "-q", file);
        using (var device = BlockDevice.OpenWrite(loop.Path))
        {
            device.Flush();
            device.RereadPartitions();
        }
        Assert.False(File.Exists(start) && File.ReadAllText(start).Trim() == "2048", "BLKRRPART left the stale partition in place");
    }

    [SkippableFact]
    public void RereadPartitionsOnALoopWithoutPartscanIsATypedError()
    {
        LoopDevice.RequireRoot();
        using var loop = LoopDevice.Attach(_scratch.SparseFile("disk.img", DiskBytes));
        using var device = BlockDevice.OpenWrite(loop.Path);
        var error = Assert.Throws<DeviceIoException>(device.RereadPartitions);
        Assert.Equal(22, error.Errno);
        Assert.Contains($"BLKRRPART {loop.Path}", error.Message);
    }

    [SkippableFact]
    public void DiscardZeroesTheRange()
    {
        LoopDevice.RequireRoot();
        string file = _scratch.SparseFile("disk.img", DiskBytes);
        File.WriteAllBytes(file, Enumerable.Repeat((byte)0xEE, (int)DiskBytes).ToArray());
        using var loop = LoopDevice.Attach(file);
        using var device = BlockDevice.OpenWrite(loop.Path);
        device.Discard(1024 * 1024, 1024 * 1024);
        device.Flush();
        var back = new byte[1024 * 1024 + 2];
        device.ReadAt(1024 * 1024 - 1, back);
        Assert.Equal(0xEE, back[0]);
        Assert.All(back.AsSpan(1, 1024 * 1024).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0xEE, back[^1]);
    }
}
