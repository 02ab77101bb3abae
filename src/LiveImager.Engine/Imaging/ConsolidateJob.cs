using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>What to consolidate into what.</summary>
/// <param name="Image">An incremental image; its bases are found beside it.</param>
/// <param name="Output">The standalone full image to write.</param>
/// <param name="SplitBytes">The volume size (OUT, OUT.002, …), or 0 for one file.</param>
public sealed record ConsolidateOptions(string Image, string Output, bool Force = false, long SplitBytes = 0);

/// <summary>How a consolidation went: the image written, how much of its data came from the bases, and the verify
/// that followed.</summary>
public sealed record ConsolidateResult(string Image, long DataBytes, long FromBases, long ImageBytes, int Links, TimeSpan Elapsed,
    VerifyResult Verified);

/// <summary>Writes a standalone full image of the disk an incremental image describes (<c>liveimager consolidate</c>),
/// so that its bases can be retired: every frame as its chain holds it, each checked as it is copied, the stored
/// payloads copied without compressing again; written as <c>NAME.partial</c>, renamed when complete, then verified.</summary>
public sealed class ConsolidateJob(ConsolidateOptions options)
{
    public event Action<ImagingProgress>? Progress;

    public ConsolidateResult Run(CancellationToken cancellationToken)
    {
        if (ImageInput.IsStream(options.Image))
        {
            throw new ImagingException("consolidate reads an image and its bases from their store, not from standard input");
        }
        using var image = new ImageFile(ImageInput.OpenVolumes(options.Image));
        using ImageChain chain = ImageChain.Open(options.Image, image.Header, image.Metadata)
            ?? throw new ImagingException($"{options.Image} is a full image already (it has no base): there is nothing to consolidate");
        chain.CheckFrameHeaders(image, cancellationToken);
        ChunkHashes hashes = image.Hashes ?? throw new ImagingException($"{options.Image} has no chunk hashes");
        int chunkSize = image.Header.ChunkSize;
        var header = new ImageHeader(options.SplitBytes > 0 ? ImageHeaderFlags.Split : ImageHeaderFlags.None, Guid.NewGuid(), chunkSize,
            options.SplitBytes, image.Header.CreatedUnixMilliseconds);
        // The disk as it was at the incremental capture: same metadata, no base.
        ImageMetadata metadata = image.Metadata with { Base = null };
        var meter = new ProgressMeter("consolidate", metadata.DataBytes, Progress);
        long fromBases = 0;
        long imageBytes;
        string name;
        using (var output = new ImageOutput(options.Output, options.SplitBytes, options.Force, header.ImageId,
            () => throw new ImagingException("consolidate writes a file, not standard output"), metadata.DataBytes))
        {
            using var writer = new ImageWriter(output.Stream, header);
            using var encoder = new FrameEncoder(ConvertOptions.DefaultLevel);
            using var decoder = new FrameDecoder();
            writer.WriteMetadata(metadata, encoder);
            foreach (var (partition, bitmap) in UsedMaps(image))
            {
                writer.WriteUsedMap(partition, bitmap, encoder);
            }
            var stored = new byte[chunkSize];
            var raw = new byte[chunkSize];
            IReadOnlyList<IndexEntry> entries = image.Index.Entries;
            for (int i = 0; i < entries.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                FrameHeader frame = image.ReadDataHeader(entries[i]);
                if (frame.Encoding == FrameEncoding.Reference)
                {
                    frame = chain.ReadStored(frame, stored, out _);
                    fromBases += frame.RawLength;
                }
                else
                {
                    image.ReadPayload(frame, stored);
                }
                // Checked as it passes: a damaged frame anywhere in the chain stops here, before the image is kept.
                decoder.Decode(frame, stored, raw);
                var payload = new EncodedPayload(frame.Encoding, frame.RawLength, frame.StoredLength, frame.RawChecksum, hashes.Hashes[i]);
                writer.WriteData(entries[i].DiskPosition, payload, stored.AsSpan(0, frame.StoredLength));
                meter.Add(frame.RawLength, 0);
            }
            string log = image.ReadLog() + $"{DateTimeOffset.UtcNow:O} consolidated by {ToolVersion.Name} from {options.Image} and its " +
                $"{chain.Links.Count} base image(s) {string.Join(", ", chain.Links.Select(l => Path.GetFileName(l.Path)))}: " +
                $"{fromBases} of {metadata.DataBytes} bytes came from the bases\n";
            writer.Finish(log, encoder, image.Record);
            output.Commit();
            imageBytes = writer.Position;
            name = output.Name;
        }
        meter.Add(0, 0, final: true);
        Log.Information("Consolidated {Image} and {Links} base image(s) into {Output}: {DataBytes} bytes of data ({FromBases} from the bases), image {ImageBytes} bytes",
            options.Image, chain.Links.Count, name, metadata.DataBytes, fromBases, imageBytes);
        VerifyResult verified = new VerifyJob(new VerifyOptions(name)).Run(cancellationToken);
        return new ConsolidateResult(name, metadata.DataBytes, fromBases, imageBytes, chain.Links.Count, meter.Elapsed, verified);
    }

    /// <summary>Each partition's used map, whole, in the image's order (a map is one bit a block: 64 MiB for 2 TiB).</summary>
    private static List<(int Partition, byte[] Bitmap)> UsedMaps(ImageFile image)
    {
        var maps = new List<(int Partition, MemoryStream Bytes)>();
        image.ReadUsedMaps((partition, offset, bytes) =>
        {
            if (maps.Count == 0 || maps[^1].Partition != partition)
            {
                maps.Add((partition, new MemoryStream()));
            }
            maps[^1].Bytes.Write(bytes);
        });
        return [.. maps.Select(m => (m.Partition, m.Bytes.ToArray()))];
    }
}
