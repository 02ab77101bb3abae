using System.Collections.Concurrent;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Imaging;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>The restore and verify fan-out: frames decoded on several workers reach every sink in disk order (or,
/// for a sink with several writers, each exactly once), a failing sink does not stop the others, and every pool
/// buffer comes back after a cancel, a damaged frame or a failed sink.</summary>
public sealed class FrameDecodePipelineTests
{
    private const int ChunkSize = 64 * 1024;
    private const int Frames = 120;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EverySinkGetsEveryFrameWithItsBytes(int writers)
    {
        var image = new MemoryImage();
        using var pool = new AlignedBufferPool(10, 2 * ChunkSize);
        var ordered = new RecordingSink("ordered", image, 1);
        var parallel = new RecordingSink("parallel", image, writers);

        long frames = Run(image, [ordered, parallel], pool, CancellationToken.None);

        Assert.Equal(Frames, frames);
        Assert.Equal(image.Chunks.Keys, ordered.Positions);
        Assert.Equal(image.Chunks.Keys, parallel.Positions.Order());
        Assert.Null(ordered.Failure);
        Assert.Null(parallel.Failure);
        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public void ASinkThatFailsIsDroppedAndTheOtherGetsEveryFrame()
    {
        var image = new MemoryImage();
        using var pool = new AlignedBufferPool(10, 2 * ChunkSize);
        var good = new RecordingSink("good", image, 2);
        var failing = new RecordingSink("failing", image, 2) { FailAt = 30 };

        long frames = Run(image, [good, failing], pool, CancellationToken.None);

        Assert.Equal(Frames, frames);
        Assert.Equal(image.Chunks.Keys, good.Positions.Order());
        Assert.IsType<IOException>(failing.Failure);
        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public void ARestoreWhoseEveryTargetFailedStopsReadingAndEveryBufferComesBack()
    {
        var image = new MemoryImage();
        using var pool = new AlignedBufferPool(10, 2 * ChunkSize);
        var failing = new RecordingSink("failing", image, 1) { FailAt = 10 };

        long frames = Run(image, [failing], pool, CancellationToken.None, stopWhenEverySinkFails: true);

        Assert.InRange(frames, 10, Frames - 1);
        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public void CancellingMidwayReturnsEveryBuffer()
    {
        var image = new MemoryImage();
        using var pool = new AlignedBufferPool(10, 2 * ChunkSize);
        using var cancellation = new CancellationTokenSource();
        var sink = new RecordingSink("target", image, 2) { AtFrame = (n) => { if (n == 40) cancellation.Cancel(); } };

        Assert.ThrowsAny<OperationCanceledException>(() => Run(image, [sink], pool, cancellation.Token));

        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public void ADamagedFrameIsTheErrorReportedAndEveryBufferComesBack()
    {
        var image = new MemoryImage(damageFrame: 57);
        using var pool = new AlignedBufferPool(10, 2 * ChunkSize);
        var sink = new RecordingSink("target", image, 2);

        var error = Assert.Throws<DiskFormatException>(() => Run(image, [sink], pool, CancellationToken.None));

        Assert.Contains("raw checksum", error.Message);
        Assert.Contains($"disk bytes {image.DamagedPosition}..", error.Message);
        Assert.Equal(0, pool.Rented);
    }

    private static long Run(MemoryImage image, IReadOnlyList<FrameSink> sinks, AlignedBufferPool pool, CancellationToken cancellationToken,
        bool stopWhenEverySinkFails = false)
    {
        using var reader = new ImageReader(new MemoryStream(image.Bytes));
        var meter = new ProgressMeter("restore", image.Chunks.Values.Sum(c => (long)c.Length), null);
        return FrameDecodePipeline.Run(reader, null, sinks, pool, workers: 3, meter, _ => 0, null, stopWhenEverySinkFails, cancellationToken);
    }

    /// <summary>An image of <see cref="Frames"/> chunks of text, random bytes and zeros (zstd, raw and zero-run frames),
    /// one of them optionally damaged in its payload.</summary>
    private sealed class MemoryImage
    {
        public MemoryImage(int damageFrame = -1)
        {
            var random = new Random(1207);
            var header = new ImageHeader(ImageHeaderFlags.None, Guid.NewGuid(), ChunkSize, 0, 0);
            long disk = 2L * Frames * ChunkSize;
            for (int i = 0; i < Frames; i++)
            {
                var chunk = new byte[i % 7 == 6 ? 12288 : ChunkSize];
                switch (i % 3)
                {
                    case 0:
                        random.NextBytes(chunk);
                        break;
                    case 1:
                        for (int b = 0; b < chunk.Length; b++)
                        {
                            chunk[b] = (byte)"ordered stage "[(b + i) % 14];
                        }
                        break;
                }
                Chunks[2L * i * ChunkSize] = chunk;
            }
            var metadata = new ImageMetadata
            {
                Tool = "LiveImager test",
                CreatedUtc = DateTimeOffset.UnixEpoch,
                Source = new SourceDisk { Path = "/dev/test", SizeBytes = disk, LogicalSectorSize = 512, PhysicalSectorSize = 4096 },
                Table = new TableInfo { Kind = "none", SectorSize = 512, DiskBytes = disk },
                Partitions = [],
                Regions = [],
                DataBytes = Chunks.Values.Sum(c => (long)c.Length),
            };
            using var output = new MemoryStream();
            var writer = new ImageWriter(output, header);
            using var encoder = new FrameEncoder(1);
            writer.WriteMetadata(metadata, encoder);
            var stored = new byte[ChunkSize];
            long damageAt = -1;
            int frame = 0;
            foreach (var (position, raw) in Chunks)
            {
                EncodedPayload payload = encoder.Encode(raw, stored);
                if (frame++ == damageFrame)
                {
                    Assert.NotEqual(FrameEncoding.ZeroRun, payload.Encoding);
                    damageAt = writer.Position + FrameHeader.Length + payload.StoredLength / 2;
                    DamagedPosition = position;
                }
                writer.WriteData(position, payload, stored);
            }
            writer.Finish("test\n", encoder);
            Bytes = output.ToArray();
            if (damageAt >= 0)
            {
                Bytes[damageAt] ^= 0x5A;
            }
        }

        public SortedDictionary<long, byte[]> Chunks { get; } = [];
        public byte[] Bytes { get; }
        public long DamagedPosition { get; }
    }

    private sealed class RecordingSink(string name, MemoryImage image, int writers) : FrameSink(name)
    {
        private readonly ConcurrentQueue<long> _positions = new();
        private int _count;

        public int FailAt { get; init; } = -1;
        public Action<int>? AtFrame { get; init; }
        public override int Writers => writers;
        public IEnumerable<long> Positions => _positions;

        public override void Write(in FrameHeader frame, Span<byte> raw)
        {
            int n = Interlocked.Increment(ref _count);
            AtFrame?.Invoke(n);
            if (n == FailAt)
            {
                throw new IOException($"{Name} failed at frame {n}");
            }
            Thread.Sleep(n % 5 == 0 ? 1 : 0);
            Assert.True(raw[..frame.RawLength].SequenceEqual(image.Chunks[frame.Position]), $"{Name}: frame at {frame.Position} has other bytes");
            _positions.Enqueue(frame.Position);
            CountDone(frame.RawLength);
        }

        public override void Complete()
        {
        }

        public override void Dispose()
        {
        }
    }
}
