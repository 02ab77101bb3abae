using LiveImager.Engine.Devices;
using LiveImager.Formats.Clonezilla;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>What to convert into what.</summary>
/// <param name="SplitBytes">The volume size (IMAGE, IMAGE.002, …), or 0 for one file.</param>
public sealed record ConvertOptions(string Source, string Image, bool Force = false, int Level = ConvertOptions.DefaultLevel, long SplitBytes = 0)
{
    /// <summary>The level convert writes at unless --level says otherwise.</summary>
    public const int DefaultLevel = 3;
}

/// <summary>How a conversion went: the image written and the verify that followed.</summary>
public sealed record ConvertResult(string Image, long DataBytes, long ImageBytes, TimeSpan Elapsed, VerifyResult Verified);

/// <summary>Writes a Clonezilla image directory as one of our images: the same disk bytes a Clonezilla restore writes
/// (<see cref="ClonezillaDiskReader"/>, every partclone checksum checked), each partition's used map taken from its
/// partclone bitmap, written as <c>NAME.partial</c> and renamed when complete, then verified frame by frame.</summary>
public sealed class ClonezillaConvertJob(ConvertOptions options)
{
    public event Action<ImagingProgress>? Progress;

    public ConvertResult Run(CancellationToken cancellationToken)
    {
        ClonezillaLayout layout = ClonezillaLayout.Read(options.Source);
        int chunkSize = ImageHeader.DefaultChunkSize;
        DateTimeOffset created = DateTimeOffset.UtcNow;
        var header = new ImageHeader(options.SplitBytes > 0 ? ImageHeaderFlags.Split : ImageHeaderFlags.None, Guid.NewGuid(), chunkSize,
            options.SplitBytes, created.ToUnixTimeMilliseconds());
        ImageMetadata metadata = layout.Metadata with
        {
            Tool = $"{ToolVersion.Name} (converted from the Clonezilla image {Path.GetFileName(Path.GetFullPath(options.Source))})",
            Compression = new CompressionInfo { LowestLevel = options.Level, HighestLevel = options.Level, Adaptive = false },
        };
        var meter = new ProgressMeter("convert", metadata.DataBytes, Progress);
        long imageBytes;
        string name;
        using (var output = new ImageOutput(options.Image, options.SplitBytes, options.Force, header.ImageId, () => throw new ImagingException("convert writes a file, not standard output")))
        {
            var writer = new ImageWriter(output.Stream, header);
            using var encoder = new FrameEncoder(options.Level);
            writer.WriteMetadata(metadata, encoder);
            foreach (PartitionInfo partition in metadata.Partitions)
            {
                writer.WriteUsedMap(partition.Number, UsedMap(layout, partition), encoder);
            }
            var stored = new byte[chunkSize];
            using var pool = new AlignedBufferPool(2, ClonezillaDiskReader.ChunkBytes);
            ClonezillaDiskReader.Read(layout, pool, (position, length, buffer) =>
            {
                using (buffer)
                {
                    // Frames never cross a chunk boundary (image-format.md): cut the piece where it crosses one.
                    for (int done = 0; done < length;)
                    {
                        long at = position + done;
                        int piece = (int)Math.Min(length - done, chunkSize - at % chunkSize);
                        EncodedPayload payload = encoder.Encode(buffer.Span.Slice(done, piece), stored);
                        writer.WriteData(at, payload, stored.AsSpan(0, payload.StoredLength));
                        done += piece;
                    }
                }
                meter.Add(length, 0);
            }, cancellationToken);
            writer.Finish($"{created:O} converted from the Clonezilla image {Path.GetFullPath(options.Source)}\n", encoder);
            output.Commit();
            imageBytes = writer.Position;
            name = output.Name;
        }
        meter.Add(0, 0, final: true);
        Log.Information("Converted the Clonezilla image {Source} to {Image}: {DataBytes} bytes of data, image {ImageBytes} bytes",
            options.Source, name, metadata.DataBytes, imageBytes);
        VerifyResult verified = new VerifyJob(new VerifyOptions(name)).Run(cancellationToken);
        return new ConvertResult(name, metadata.DataBytes, imageBytes, meter.Elapsed, verified);
    }

    /// <summary>The partition's used map: the partclone bitmap as it is (the same bit order as ours), all of a raw
    /// image, the swap header's 4 KiB, or nothing for a partition the image does not hold.</summary>
    private static byte[] UsedMap(ClonezillaLayout layout, PartitionInfo partition)
    {
        var map = new byte[ImageMetadata.UsedMapBytes(partition)];
        ClonezillaPartitionImage? image = layout.Image.Images.FirstOrDefault(i => i.Number == partition.Number);
        if (image is not null && layout.Headers[image.Device] is not null)
        {
            using Stream stream = ClonezillaInput.OpenPartition(layout.Directory, image);
            var reader = ClonezillaInput.Guard(image, () => new PartcloneReader(stream, image.Describe()));
            reader.Bitmap.CopyTo(map);
            return map;
        }
        // The first UsedBlocks blocks: whole bytes, then the bits of the last one.
        map.AsSpan(0, (int)(partition.UsedBlocks / 8)).Fill(0xFF);
        if (partition.UsedBlocks % 8 != 0)
        {
            map[partition.UsedBlocks / 8] = (byte)((1 << (int)(partition.UsedBlocks % 8)) - 1);
        }
        return map;
    }
}
