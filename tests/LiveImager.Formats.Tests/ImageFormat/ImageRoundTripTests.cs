using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Formats.Tests.ImageFormat;

public sealed class ImageRoundTripTests
{
    [Fact]
    public void SequentialReadReturnsEveryChunkMetadataLogAndMap()
    {
        var image = new TestImage();
        using var memory = new MemoryStream();
        List<FrameEncoding> encodings = image.WriteTo(memory, "log line\n");
        memory.Position = 0;

        using var reader = new ImageReader(new NonSeekableStream(memory));
        byte[]? map = null;
        reader.UsedMapRead = (frame, bytes) => map = frame.Tag == 1 ? bytes : null;
        var stored = new byte[TestImage.ChunkSize];
        var raw = new byte[TestImage.ChunkSize];
        using var decoder = new FrameDecoder();
        var restored = new SortedDictionary<long, byte[]>();
        while (reader.TryReadData(stored, out FrameHeader frame))
        {
            decoder.Decode(frame, stored, raw);
            restored[frame.Position] = raw[..frame.RawLength];
        }

        Assert.Equal([FrameEncoding.Zstd, FrameEncoding.ZeroRun, FrameEncoding.Raw, FrameEncoding.Raw, FrameEncoding.Zstd], encodings);
        Assert.Equal(image.Chunks.Keys, restored.Keys);
        foreach (var (position, bytes) in image.Chunks)
        {
            Assert.Equal(bytes, restored[position]);
        }
        Assert.Equal(image.UsedMap, map);
        Assert.Equal("log line\n", reader.Log);
        Assert.Equal(image.Metadata.Source, reader.Metadata.Source);
        Assert.Equal(image.Metadata.Partitions[0] with { Warnings = [], Fixups = [] }, reader.Metadata.Partitions[0] with { Warnings = [], Fixups = [] });
        Assert.Equal(image.Metadata.Partitions[0].Fixups, reader.Metadata.Partitions[0].Fixups);
        Assert.Equal(image.Metadata.DataBytes, reader.Footer!.Value.DataBytes);
        Assert.Equal(5, reader.Footer.Value.DataFrameCount);
        Assert.Equal(memory.Length, reader.Position);
    }

    [Fact]
    public void StoredBytesAreSmallerThanRawForCompressibleAndZeroChunks()
    {
        var image = new TestImage();
        long raw = image.Chunks.Values.Sum(c => (long)c.Length);
        byte[] bytes = image.ToBytes();
        // The random chunks are stored raw (128 KiB); the text and zero chunks nearly vanish; headers are small.
        Assert.InRange(bytes.Length, 2 * TestImage.ChunkSize, 2 * TestImage.ChunkSize + 4096);
        Assert.True(raw >= 4 * TestImage.ChunkSize, $"the test image holds {raw} raw bytes: more than two random chunks");
        Assert.True(bytes.Length < raw, $"stored {bytes.Length} bytes for {raw} raw ones");
    }

    [Fact]
    public void RandomAccessReadsAnyFrameThroughTheIndex()
    {
        var image = new TestImage();
        using var file = new ImageFile(new MemoryStream(image.ToBytes()));

        Assert.Equal(image.Chunks.Keys, file.Index.Entries.Select(e => e.DiskPosition));
        var raw = new byte[TestImage.ChunkSize];
        IndexEntry last = file.Index.Entries[^1];
        file.ReadData(last, raw);
        Assert.Equal(image.Chunks[last.DiskPosition], raw[..last.RawLength]);
        Assert.Equal("captured for a test\n", file.ReadLog());
        Assert.Equal("Test Disk", file.Metadata.Source.Model);
        Assert.Equal(image.Header.ImageId, file.Footer.ImageId);
    }

    [Fact]
    public void WriterRefusesOverlappingOrChunkCrossingFrames()
    {
        var image = new TestImage();
        var writer = new ImageWriter(new MemoryStream(), image.Header);
        using var encoder = new FrameEncoder(1);
        writer.WriteMetadata(image.Metadata, encoder);
        var stored = new byte[TestImage.ChunkSize];
        EncodedPayload payload = encoder.Encode(new byte[4096], stored);
        writer.WriteData(8192, payload, stored);

        Assert.Throws<InvalidOperationException>(() => writer.WriteData(4096, payload, stored));
        Assert.Throws<InvalidOperationException>(() => writer.WriteData(TestImage.ChunkSize - 512, payload, stored));
    }
}

/// <summary>A pipe as the reader sees it: no seeking, no length.</summary>
internal sealed class NonSeekableStream(Stream inner) : ForwardReadStream
{
    public override int Read(Span<byte> buffer) => inner.Read(buffer);
}
