using System.Text;
using System.Text.Json.Nodes;
using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Formats.Tests.ImageFormat;

/// <summary>Issue #24, hole 5: an image's metadata is input the tool does not control. Every numeric field is forged to
/// each value that breaks a number's assumptions (0, -1, 2^31, 2^40, the type's maximum); both readers must refuse the
/// image with a <see cref="DiskFormatException"/> that names the field, never another exception, and allocate no more
/// than the image's own size plus a constant while doing so.</summary>
public sealed class ImageMetadataForgeryTests
{
    /// <summary>Every number in the metadata, as JSON paths from the root.</summary>
    public static readonly string[] Fields =
    [
        "source.sizeBytes", "source.logicalSectorSize", "source.physicalSectorSize", "table.sectorSize", "table.diskBytes",
        "partitions.0.number", "partitions.0.startBytes", "partitions.0.sizeBytes", "partitions.0.blockSize",
        "partitions.0.blockCount", "partitions.0.usedBlocks", "regions.0.startBytes", "regions.0.sizeBytes", "dataBytes",
    ];

    /// <summary>The forged values: the edges of int and long, and the sizes that overflowed or over-allocated before.</summary>
    public static readonly long[] Values = [0, -1, 1L << 31, 1L << 40, int.MaxValue, long.MaxValue, 3, 511, 4097];

    /// <summary>Bytes a reader may allocate beyond the image's own size: buffers of one chunk, the decoder, messages.</summary>
    private const long AllocationSlack = 4 * 1024 * 1024;

    public static TheoryData<string> FieldNames() => [.. Fields];

    [Theory]
    [MemberData(nameof(FieldNames))]
    public void EveryForgedValueIsRefusedByBothReadersNamingTheField(string field)
    {
        var image = new TestImage();
        JsonNode original = JsonNode.Parse(image.Metadata.ToJsonBytes())!;
        long originalValue = Locate(original, field).GetValue<long>();
        int tried = 0;
        foreach (long value in Values.Where(v => v != originalValue))
        {
            JsonNode forged = original.DeepClone();
            Set(forged, field, value);
            byte[] bytes = Write(image, forged);
            string leaf = field[(field.LastIndexOf('.') + 1)..];

            DiskFormatException random = Refused(bytes, () => new ImageFile(new MemoryStream(bytes)).Dispose());
            DiskFormatException streamed = Refused(bytes, () =>
            {
                using var reader = new ImageReader(new NonSeekableStream(new MemoryStream(bytes)));
                reader.ReadToEnd();
            });

            Assert.True(random.Message.Contains(leaf, StringComparison.Ordinal), $"{field} = {value}: '{random.Message}' does not name {leaf}");
            Assert.True(streamed.Message.Contains(leaf, StringComparison.Ordinal), $"{field} = {value}: '{streamed.Message}' does not name {leaf}");
            tried++;
        }
        Assert.True(tried >= Values.Length - 1);
    }

    [Fact]
    public void TheUnforgedImageIsRead()
    {
        var image = new TestImage();
        byte[] bytes = Write(image, JsonNode.Parse(image.Metadata.ToJsonBytes())!);

        using var file = new ImageFile(new MemoryStream(bytes));
        using var reader = new ImageReader(new NonSeekableStream(new MemoryStream(bytes)));
        Assert.Equal(image.Chunks.Count, reader.ReadToEnd());
        Assert.Equal(24, file.Metadata.Partitions[0].BlockCount);
    }

    [Fact]
    public void AUsedMapLongerThanTheBlockCountNeedsIsRefused()
    {
        var image = new TestImage();
        var forged = JsonNode.Parse(image.Metadata.ToJsonBytes())!;
        Set(forged, "partitions.0.blockCount", 16);
        Set(forged, "partitions.0.usedBlocks", 3);
        byte[] bytes = Write(image, forged);

        DiskFormatException e = Refused(bytes, () => new ImageFile(new MemoryStream(bytes)).Dispose());

        Assert.Contains("used map must continue at byte 0 and hold 2 bytes in all (blockCount 16)", e.Message);
    }

    [Fact]
    public void OverlappingPartitionsAreRefused()
    {
        var image = new TestImage();
        var forged = JsonNode.Parse(image.Metadata.ToJsonBytes())!;
        Set(forged, "partitions.0.startBytes", 16384);

        DiskFormatException e = Refused(Write(image, forged), null);

        Assert.Contains("overlap", e.Message);
    }

    /// <summary>Runs <paramref name="read"/> (or both readers) and returns the refusal, checking the allocation bound.</summary>
    private static DiskFormatException Refused(byte[] bytes, Action? read)
    {
        read ??= () => new ImageFile(new MemoryStream(bytes)).Dispose();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DiskFormatException>(read);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < bytes.Length + AllocationSlack, $"reading a {bytes.Length}-byte image allocated {allocated} bytes ({e.Message})");
        return e;
    }

    private static byte[] Write(TestImage image, JsonNode metadata)
    {
        using var output = new MemoryStream();
        image.WriteTo(output, metadataJson: Encoding.UTF8.GetBytes(metadata.ToJsonString()));
        return output.ToArray();
    }

    private static JsonNode Locate(JsonNode root, string path)
    {
        JsonNode node = root;
        foreach (string step in path.Split('.'))
        {
            node = int.TryParse(step, out int index) ? node[index]! : node[step]!;
        }
        return node;
    }

    private static void Set(JsonNode root, string path, long value)
    {
        int dot = path.LastIndexOf('.');
        JsonNode parent = dot < 0 ? root : Locate(root, path[..dot]);
        parent[path[(dot + 1)..]] = value;
    }
}
