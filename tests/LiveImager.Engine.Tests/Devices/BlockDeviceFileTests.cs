using LiveImager.Engine.Devices;
using LiveImager.Formats;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Devices;

/// <summary>BlockDevice over regular files: image files are sources and targets like disks, including unaligned tails.</summary>
public sealed class BlockDeviceFileTests : IDisposable
{
    // Three full 4 KiB blocks and a 123-byte tail: the shape that breaks naive O_DIRECT code.
    private const int FileBytes = 3 * 4096 + 123;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private (string Path, byte[] Content) MakeFile(int length = FileBytes, int seed = 1)
    {
        var content = new byte[length];
        new Random(seed).NextBytes(content);
        string path = _scratch.File($"image-{seed}.img");
        File.WriteAllBytes(path, content);
        return (path, content);
    }

    [Fact]
    public void AFileReportsItsSizeAndNominalSectors()
    {
        var (path, _) = MakeFile();
        using var device = BlockDevice.OpenRead(path);
        Assert.False(device.IsBlockDevice);
        Assert.Equal(path, device.Path);
        Assert.Equal(FileBytes, device.Length);
        Assert.Equal(512, device.LogicalSectorSize);
        Assert.Equal(4096, device.PhysicalSectorSize);
        Assert.Equal(4096, device.Alignment);
    }

    [Theory]
    [InlineData(0, 4096)]
    [InlineData(1, 1)]
    [InlineData(511, 4100)]
    [InlineData(4095, 8192)]
    [InlineData(3 * 4096, 123)]
    [InlineData(FileBytes - 1, 1)]
    [InlineData(0, FileBytes)]
    public void ReadAtReturnsTheBytesAtAnyOffsetAndLength(int offset, int length)
    {
        var (path, content) = MakeFile();
        using var device = BlockDevice.OpenRead(path);
        var destination = new byte[length];
        device.ReadAt(offset, destination);
        Assert.Equal(content.AsSpan(offset, length).ToArray(), destination);
    }

    [Fact]
    public void ReadAtOutsideTheFileThrowsTheDomainException()
    {
        var (path, _) = MakeFile();
        using var device = BlockDevice.OpenRead(path);
        var error = Assert.Throws<DiskFormatException>(() => device.ReadAt(FileBytes - 10, new byte[11]));
        Assert.Contains($"{FileBytes}-byte device", error.Message);
    }

    [Fact]
    public void ReadAlignedIsShortOnlyAtTheUnalignedTail()
    {
        var (path, content) = MakeFile();
        using var device = BlockDevice.OpenRead(path);
        using var pool = new AlignedBufferPool(1, 8192);
        using var buffer = pool.Rent();
        Assert.Equal(8192, device.ReadAligned(0, buffer.Span));
        Assert.Equal(content.AsSpan(0, 8192).ToArray(), buffer.Span.ToArray());
        Assert.Equal(4096 + 123, device.ReadAligned(8192, buffer.Span));
        Assert.Equal(content.AsSpan(8192).ToArray(), buffer.Span[..(4096 + 123)].ToArray());
        Assert.Equal(0, device.ReadAligned(16384, buffer.Span));
    }

    [Fact]
    public void ReadAlignedRejectsUnalignedRequests()
    {
        var (path, _) = MakeFile();
        using var device = BlockDevice.OpenRead(path);
        using var pool = new AlignedBufferPool(1, 8192);
        using var buffer = pool.Rent();
        Assert.Throws<ArgumentException>(() => device.ReadAligned(512, buffer.Span));
        Assert.Throws<ArgumentException>(() => device.ReadAligned(0, buffer.Span[..1000]));
        Assert.Throws<ArgumentException>(() => device.ReadAligned(0, buffer.Span[512..4608]));
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(100, 5000)]
    [InlineData(4096, 4096)]
    [InlineData(8000, 4323)]
    [InlineData(FileBytes - 3, 3)]
    public void WriteAtInsideTheFileChangesOnlyTheWrittenBytes(int offset, int length)
    {
        var (path, content) = MakeFile();
        var patch = new byte[length];
        new Random(99).NextBytes(patch);
        using (var device = BlockDevice.OpenWrite(path))
        {
            device.WriteAt(offset, patch);
            Assert.Equal(FileBytes, device.Length);
            var back = new byte[length];
            device.ReadAt(offset, back);
            Assert.Equal(patch, back);
            device.Flush();
        }
        patch.CopyTo(content, offset);
        Assert.Equal(content, File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteAtPastTheEndGrowsTheFileToExactlyTheWrittenEnd()
    {
        var (path, content) = MakeFile();
        var patch = new byte[700];
        new Random(5).NextBytes(patch);
        const int offset = FileBytes + 1000;
        using (var device = BlockDevice.OpenWrite(path))
        {
            device.WriteAt(offset, patch);
            Assert.Equal(offset + patch.Length, device.Length);
        }
        byte[] expected = [.. content, .. new byte[1000], .. patch];
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteAlignedWritesAFilesUnalignedTailExactly()
    {
        string path = _scratch.File("restored.img");
        var content = new byte[FileBytes];
        new Random(7).NextBytes(content);
        using var pool = new AlignedBufferPool(1, 8192);
        using (var device = BlockDevice.OpenWrite(path, create: true))
        using (var buffer = pool.Rent())
        {
            Assert.Equal(0, device.Length);
            content.AsSpan(0, 8192).CopyTo(buffer.Span);
            device.WriteAligned(0, buffer.Span);
            content.AsSpan(8192).CopyTo(buffer.Span);
            device.WriteAligned(8192, buffer.Span[..(FileBytes - 8192)]);
            Assert.Equal(FileBytes, device.Length);
            device.Flush();
        }
        Assert.Equal(content, File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteAlignedIntoAPresizedFileKeepsItsLength()
    {
        string path = _scratch.File("presized.img");
        using var pool = new AlignedBufferPool(1, 4096);
        using (var device = BlockDevice.OpenWrite(path, create: true))
        using (var buffer = pool.Rent())
        {
            device.SetLength(3 * 4096 + 10);
            buffer.Span.Fill(0x5A);
            device.WriteAligned(4096, buffer.Span[..100]);
            Assert.Equal(3 * 4096 + 10, device.Length);
        }
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(3 * 4096 + 10, bytes.Length);
        Assert.All(bytes.AsSpan(4096, 100).ToArray(), b => Assert.Equal(0x5A, b));
        Assert.All(bytes.AsSpan(4196).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void DiscardPunchesAHoleThatReadsAsZeros()
    {
        var (path, content) = MakeFile(64 * 1024);
        using var device = BlockDevice.OpenWrite(path);
        device.Discard(16384, 32768);
        var back = new byte[64 * 1024];
        device.ReadAt(0, back);
        Array.Clear(content, 16384, 32768);
        Assert.Equal(content, back);
        Assert.Equal(64 * 1024, device.Length);
    }

    [Fact]
    public void BlockDeviceOnlyCallsAreHarmlessOrRefusedOnFiles()
    {
        var (path, _) = MakeFile();
        using var device = BlockDevice.OpenWrite(path);
        device.RereadPartitions();
        device.Flush();
        device.SetLength(100);
        Assert.Equal(100, device.Length);
        Assert.Equal(100, new FileInfo(path).Length);
    }

    [Fact]
    public void AMissingPathIsReportedAsNotFound()
    {
        string path = _scratch.File("absent.img");
        var error = Assert.Throws<DeviceNotFoundException>(() => BlockDevice.OpenRead(path));
        Assert.Equal(path, error.Path);
        Assert.Equal(2, error.Errno);
        Assert.Contains(path, error.Message);
        Assert.Throws<DeviceNotFoundException>(() => BlockDevice.OpenWrite(path));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void ADirectoryIsNeitherDeviceNorImage()
    {
        var error = Assert.Throws<DeviceIoException>(() => BlockDevice.OpenRead(_scratch.Path));
        Assert.Contains("neither a block device nor a regular file", error.Message);
    }

    [Fact]
    public void UseAfterDisposeFails()
    {
        var (path, _) = MakeFile();
        var device = BlockDevice.OpenRead(path);
        device.Dispose();
        Assert.Throws<ObjectDisposedException>(() => device.ReadAt(1, new byte[3]));
    }
}
