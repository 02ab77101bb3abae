using LiveImager.Formats.ImageFormat;

namespace LiveImager.Formats.Tests.ImageFormat;

/// <summary>A small image built in memory: a compressible chunk, a zero chunk, two random chunks, a short tail.</summary>
public sealed class TestImage
{
    public const int ChunkSize = 64 * 1024;
    public const long DiskBytes = 16L * ChunkSize;

    /// <summary>The disk bytes each data frame holds, by disk position.</summary>
    public SortedDictionary<long, byte[]> Chunks { get; } = [];

    public byte[] UsedMap { get; }
    public ImageMetadata Metadata { get; }
    public ImageHeader Header { get; }

    /// <summary>Set for an encrypted image (version 4), with the cheapest KDF so tests stay fast.</summary>
    public ImagePassphrase? Passphrase { get; }

    public TestImage(long volumeSize = 0, ImagePassphrase? passphrase = null)
    {
        Passphrase = passphrase;
        var random = new Random(42);
        var text = new byte[ChunkSize];
        for (int i = 0; i < text.Length; i++)
        {
            text[i] = (byte)"the quick brown fox jumps over the lazy dog\n"[i % 44];
        }
        var noise = new byte[ChunkSize];
        random.NextBytes(noise);
        var tail = new byte[5000];
        random.NextBytes(tail.AsSpan(0, 100));
        Chunks[0] = text;
        Chunks[2L * ChunkSize] = new byte[ChunkSize];
        Chunks[3L * ChunkSize] = noise;
        Chunks[5L * ChunkSize] = [.. noise.Reverse()];
        Chunks[7L * ChunkSize + 512] = tail;
        UsedMap = [0b1101, 0, 0x80];
        Header = new ImageHeader((volumeSize > 0 ? ImageHeaderFlags.Split : ImageHeaderFlags.None)
            | (passphrase is null ? ImageHeaderFlags.None : ImageHeaderFlags.Encrypted), Guid.NewGuid(), ChunkSize,
            volumeSize, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            ImageHeader.CurrentVersion);
        Metadata = new ImageMetadata
        {
            Tool = "LiveImager test",
            CreatedUtc = DateTimeOffset.UtcNow,
            Source = new SourceDisk { Path = "/dev/test", Model = "Test Disk", Serial = "S123", SizeBytes = DiskBytes, LogicalSectorSize = 512, PhysicalSectorSize = 4096 },
            Table = new TableInfo { Kind = "gpt", SectorSize = 512, DiskBytes = DiskBytes },
            Partitions = [new PartitionInfo
            {
                Number = 1, StartBytes = 65536, SizeBytes = 8 * 65536, Type = "0fc63daf-8483-4772-8e79-3d69d8477de4", Filesystem = "ext4",
                Label = "root", BlockSize = 4096, BlockCount = 24, UsedBlocks = 4, Method = "ext4 block bitmaps",
                UnusedMetadataBytes = 8192, Fixups = [LiveImager.Formats.FileSystems.Ext.ExtInodeTableFixup.Name],
            }],
            Regions = [new RegionInfo { Kind = RegionKinds.PartitionTable, StartBytes = 0, SizeBytes = 17408 }],
            DataBytes = Chunks.Values.Sum(c => (long)c.Length),
        };
    }

    /// <summary>Writes the image to <paramref name="output"/>; returns the encodings chosen, in data frame order;
    /// <paramref name="metadataJson"/>, when given, replaces the metadata frame's JSON (a forged image).</summary>
    public List<FrameEncoding> WriteTo(Stream output, string log = "captured for a test\n", byte[]? metadataJson = null)
    {
        using var writer = new ImageWriter(output, Header, Passphrase);
        using var encoder = new FrameEncoder(3);
        writer.WriteMetadata(metadataJson ?? Metadata.ToJsonBytes(), encoder);
        writer.WriteUsedMap(1, UsedMap, encoder);
        var stored = new byte[ChunkSize + FrameSealer.Overhead];
        var encodings = new List<FrameEncoding>();
        using FrameSealer? sealer = writer.CreateSealer();
        foreach (var (position, raw) in Chunks)
        {
            if (sealer is null)
            {
                EncodedPayload payload = encoder.Encode(raw, stored);
                writer.WriteData(position, payload, stored);
                encodings.Add(payload.Encoding);
            }
            else
            {
                // As a capture's worker does: encode and seal ahead, the writer only appends.
                EncodedPayload payload = encoder.Encode(raw, stored.AsSpan(FrameSealer.PayloadOffset));
                int length = sealer.SealData(writer.NextFrameNumber, position, payload, stored);
                writer.WriteSealedData(position, payload, stored.AsSpan(0, length));
                encodings.Add(payload.Encoding);
            }
        }
        writer.Finish(log, encoder);
        return encodings;
    }

    public byte[] ToBytes()
    {
        using var memory = new MemoryStream();
        WriteTo(memory);
        return memory.ToArray();
    }
}
