using LiveImager.Engine.Imaging;
using LiveImager.Engine.Opening;
using LiveImager.Engine.Tests.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Opening;

/// <summary>Random access to a captured disk through the image's index, checked against a restore of the same image.</summary>
public sealed class ImageDiskTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>Reads at random offsets and lengths (unaligned, across frame ends and gaps, zero-length, to the last
    /// byte) give exactly what a restore writes, with a cache of two frames that is evicted over and over.</summary>
    [SkippableFact]
    public void RandomReadsMatchARestoreWithATinyCache()
    {
        (string image, byte[] restored) = CaptureAndRestore();
        using ImageDisk disk = ImageDisk.Open(image, cacheBytes: 1);
        var random = new Random(14);

        Assert.Equal(restored.Length, disk.Size);
        Assert.Equal(2, disk.CacheFrames);
        for (int i = 0; i < 400; i++)
        {
            long offset = random.NextInt64(disk.Size);
            int length = (int)Math.Min(disk.Size - offset, random.Next(0, 300_000));
            var bytes = new byte[length];
            disk.Read(offset, bytes);
            Assert.True(bytes.AsSpan().SequenceEqual(restored.AsSpan((int)offset, length)), $"bytes {offset}+{length} differ from the restore");
        }
        var tail = new byte[1];
        disk.Read(disk.Size - 1, tail);
        Assert.Equal(restored[^1], tail[0]);
        disk.Read(disk.Size, []);
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Read(disk.Size - 1, new byte[2]));
    }

    /// <summary>Several threads reading at once see the same bytes as one.</summary>
    [SkippableFact]
    public void ConcurrentReadersSeeTheRestoredBytes()
    {
        (string image, byte[] restored) = CaptureAndRestore();
        using ImageDisk disk = ImageDisk.Open(image, cacheBytes: 1);

        Parallel.For(0, 8, thread =>
        {
            var random = new Random(thread);
            var bytes = new byte[131_072];
            for (int i = 0; i < 100; i++)
            {
                long offset = random.NextInt64(disk.Size - bytes.Length);
                disk.Read(offset, bytes);
                Assert.True(bytes.AsSpan().SequenceEqual(restored.AsSpan((int)offset, bytes.Length)), $"bytes at {offset} differ");
            }
        });
    }

    /// <summary>A damaged frame fails the reads that touch it, naming the frame; reads elsewhere still work.</summary>
    [SkippableFact]
    public void ADamagedFrameFailsOnlyTheReadsThatTouchIt()
    {
        (string image, byte[] restored) = CaptureAndRestore();
        IndexEntry damaged = FrameDamage.FlipPayloadByte(image, file => file.Index.Entries.Last(e => file.ReadDataHeader(e).StoredLength > 100));
        using ImageDisk disk = ImageDisk.Open(image);

        var e = Assert.Throws<DiskFormatException>(() => disk.Read(damaged.DiskPosition + 10, new byte[100]));
        Assert.Contains($"image frame {damaged.FrameNumber} (data, disk bytes {damaged.DiskPosition}..", e.Message);
        IndexEntry other = disk.Frames.First(f => f.DiskEnd < damaged.DiskPosition);
        var bytes = new byte[other.RawLength];
        disk.Read(other.DiskPosition, bytes);
        Assert.True(bytes.AsSpan().SequenceEqual(restored.AsSpan((int)other.DiskPosition, other.RawLength)));
    }

    private (string Image, byte[] Restored) CaptureAndRestore()
    {
        TestDisk source = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(source.Path, image)).Run(CancellationToken.None);
        string target = _scratch.SparseFile("restored.img", TestDisk.DiskBytes);
        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);
        Assert.True(restored.Succeeded);
        return (image, File.ReadAllBytes(target));
    }
}
