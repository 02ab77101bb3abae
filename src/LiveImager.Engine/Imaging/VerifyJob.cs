using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>What to verify: an image, and optionally the disk it should match.</summary>
/// <param name="Passphrase">An encrypted image's passphrase (the caller disposes it); without one,
/// <see cref="VerifyJob.CheckStructure"/> is what can be checked.</param>
public sealed record VerifyOptions(string Image, string? Against = null, ImagePassphrase? Passphrase = null);

/// <summary>A verified image: every frame's checksum and the structure checked, and the disk compared when asked.</summary>
/// <param name="BadRanges">The source ranges a rescue capture could not read (zeros in the image), or null.</param>
public sealed record VerifyResult(ImageMetadata Metadata, long Frames, long DataBytes, TimeSpan Elapsed, string? Log, long BytesCompared,
    IReadOnlyList<BadRange>? BadRanges = null)
{
    /// <summary>For a forensic image, the source's SHA-256 recomputed from the image and found equal to the recorded
    /// one (MD5 too); null when the image records no source hashes.</summary>
    public string? SourceSha256 { get; init; }

    /// <summary>The image's capture record, or null.</summary>
    public CaptureRecord? Record { get; init; }
}

/// <summary>Reads a whole image, checking every frame (on all cores) and its structure to the footer; with a device,
/// also compares the used bytes with it. Damage throws, naming the first damaged frame and its position.</summary>
public sealed class VerifyJob(VerifyOptions options, Func<Stream>? standardInput = null)
{
    public event Action<ImagingProgress>? Progress;

    /// <exception cref="DiskPathException">The disk to compare with breaks <see cref="DiskPath"/>'s rule; the image
    /// was not opened.</exception>
    public VerifyResult Run(CancellationToken cancellationToken)
    {
        if (options.Against is { } disk)
        {
            DiskPath.Check(disk, DiskRole.Comparison);
        }
        using Stream input = ImageInput.Open(options.Image, standardInput);
        using var reader = new ImageReader(input, options.Passphrase);
        ImageMetadata metadata = reader.Metadata;
        using ImageChain? chain = ImageChain.Open(options.Image, reader.Header, metadata);
        // A file is read again for its used maps, piece by piece (memory bounded); a pipe's are kept as they pass.
        Func<Stream>? reopen = options.Image == "-" ? null : () => ImageInput.Open(options.Image, null);
        using CompareSink? against = options.Against is null ? null : new CompareSink(options.Against, metadata, reader.Header.ChunkSize, reopen, options.Passphrase);
        if (against is not null && reopen is null)
        {
            reader.UsedMapRead = (frame, bitmap) => against.AddUsedMap(frame, bitmap);
        }
        var meter = new ProgressMeter("verify", metadata.DataBytes, Progress);
        // A whole-disk capture with a capture record may be a forensic one: its source hashes are recomputed from the
        // frames (in disk order on the dispatching thread) and compared with the record at the end.
        using SourceHashes? hashes = reader.Header.Version >= ImageHeader.CaptureRecordVersion && metadata.DataBytes == metadata.Source.SizeBytes
            ? new SourceHashes() : null;
        long frames = FrameDecodePipeline.Run(reader, chain, against is null ? [] : [against], meter, _ => 0,
            hashes is null ? null : (frame, raw) => hashes.Append(frame.Position, raw),
            stopWhenEverySinkFails: false, cancellationToken);
        string? hashCheck = null;
        if (reader.Record?.Forensic is { } forensic && hashes is not null)
        {
            hashes.ZerosTo(metadata.Source.SizeBytes);
            (string sha256, string md5) = hashes.Finish();
            if (sha256 != forensic.Sha256 || md5 != forensic.Md5)
            {
                throw new ImagingException($"the image's data hashes to SHA-256 {sha256}, MD5 {md5}, but the capture recorded SHA-256 " +
                    $"{forensic.Sha256}, MD5 {forensic.Md5}: the image does not hold what was read from the source");
            }
            hashCheck = sha256;
        }
        if (against?.Failure is { } failure)
        {
            throw failure is ImagingException ? failure : new ImagingException($"comparing with {against.Name} failed: {failure.Message}", failure);
        }
        Log.Information("Verified {Image}: {Frames} frames, {Bytes} bytes, {Compared} bytes compared with {Against}",
            options.Image, frames, meter.Done, against?.BytesCompared ?? 0, options.Against);
        return new VerifyResult(metadata, frames, meter.Done, meter.Elapsed, reader.Log, against?.BytesCompared ?? 0, reader.Record?.BadRanges)
        {
            SourceSha256 = hashCheck,
            Record = reader.Record,
        };
    }

    /// <summary>What can be checked of an encrypted image without its passphrase: every frame's outer header, their
    /// order and the footer; not the contents.</summary>
    public static SealedStructure CheckStructure(string image, Func<Stream>? standardInput, CancellationToken cancellationToken)
    {
        using Stream input = ImageInput.Open(image, standardInput);
        SealedStructure structure = SealedStructure.Check(input, cancellationToken);
        Log.Information("Checked the structure of encrypted {Image} without its passphrase: {Frames} frames, {Bytes} bytes; contents not checked",
            image, structure.Frames, structure.ImageBytes);
        return structure;
    }
}
