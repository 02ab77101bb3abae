using System.Text;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>What to capture, where to, and how.</summary>
/// <param name="Image">The image path, or "-" for standard output.</param>
/// <param name="SplitBytes">Volume size for <c>--split</c>; 0 for one file.</param>
/// <param name="CheckFreeSpace">Refuse before writing when the store's free space is below the worst-case image size.</param>
/// <param name="Level">zstd level 1..19, or <see cref="AdaptiveLevel"/>.</param>
/// <param name="Rescue">With a policy (<c>--rescue</c>), unreadable sectors become zeros recorded in the image's
/// bad-range map; without, the first one stops the capture with its position.</param>
/// <param name="Forensic">Read every byte, keep the source read-only in the kernel, hash it, and record the case
/// (implies a rescue policy: what cannot be read is recorded, not fatal).</param>
/// <param name="Passphrase">Encrypt the image under this passphrase; the caller owns and disposes it.</param>
/// <param name="Base">Capture incrementally on this earlier image of the same disk (<c>--base</c>): a file name in the
/// image's folder, or a path there; unchanged chunks become references to it (<see cref="IncrementalBase"/>).</param>
public sealed record CaptureOptions(string Source, string Image, int Level = CaptureOptions.DefaultLevel, long SplitBytes = 0, bool Force = false,
    bool CheckFreeSpace = true, RescuePolicy? Rescue = null, ForensicOptions? Forensic = null, ImagePassphrase? Passphrase = null,
    string? Base = null)
{
    /// <summary>Adaptive: zstd level 3 while every core compresses, up to 6 while the cores wait on the disk or the
    /// store (see <see cref="CompressionLevels"/>). Level 1 was the default until it measured 1.035× the size of
    /// partclone | zstd -3 on make bench's disk; level 3 makes 0.99× its size, at about 2.7× level 1's CPU in
    /// ZstdSharp, so the capture is then 1.4–2.2× faster than partclone | zstd there, not 4× (docs/bench.md).</summary>
    public const int AdaptiveLevel = CompressionLevels.Adaptive;

    public const int DefaultLevel = AdaptiveLevel;
}

/// <summary>The case details of a forensic capture (<c>capture --forensic --case … --examiner … --notes …</c>).</summary>
public sealed record ForensicOptions(string? Case = null, string? Examiner = null, string? Notes = null);

/// <summary>How a capture went.</summary>
/// <param name="BadRanges">The unreadable ranges a rescue capture recorded (zeros in the image); empty otherwise.</param>
public sealed record CaptureResult(string Image, long DataBytes, long ImageBytes, long Frames, TimeSpan Elapsed, string Log,
    IReadOnlyList<BadRange>? BadRanges = null)
{
    /// <summary>For an incremental capture, the data bytes found unchanged and referenced in the base; else 0.</summary>
    public long ReferencedBytes { get; init; }

    /// <summary>The capture record written (rescue and forensic captures), or null.</summary>
    public CaptureRecord? Record { get; init; }
}

/// <summary>Captures a disk (or disk image file) into an image: reads only the used bytes in large aligned reads,
/// compresses them on all cores, and writes the frames in order.</summary>
/// <remarks>One <see cref="OrderedStage"/>: workers (a core each, and a few more to keep reads in flight) read
/// aligned O_DIRECT chunks into pool buffers and compress them; one thread writes the frames in disk order. Memory is
/// the buffer pool, whatever the disk's size (DESIGN.md invariant 5).</remarks>
public sealed class CaptureJob(CaptureOptions options, Func<Stream>? standardOutput = null)
{
    /// <summary>Raised a few times a second from the writer stage; handlers must not block.</summary>
    public event Action<ImagingProgress>? Progress;

    public CaptureResult Run(CancellationToken cancellationToken)
    {
        DiskPath.Check(options.Source, DiskRole.Source);
        using BlockDevice source = DiskGuard.OpenSource(options.Source, new DiskScanner(), out DiskInfo? sourceDisk);
        if (options.Forensic is null || !source.IsBlockDevice)
        {
            return Capture(source, sourceDisk, readOnly: null, cancellationToken);
        }
        // Forensic: the kernel refuses every write to the source while it is read, whoever asks; the flag it had
        // before comes back afterwards, also after a failure.
        bool wasReadOnly = source.IsKernelReadOnly();
        source.SetKernelReadOnly(true);
        try
        {
            return Capture(source, sourceDisk, wasReadOnly, cancellationToken);
        }
        finally
        {
            source.SetKernelReadOnly(wasReadOnly);
        }
    }

    /// <param name="readOnly">For a forensic capture of a block device, the kernel read-only flag it had before.</param>
    private CaptureResult Capture(BlockDevice source, DiskInfo? sourceDisk, bool? readOnly, CancellationToken cancellationToken)
    {
        var log = new StringBuilder();
        var created = DateTimeOffset.UtcNow;
        RescuePolicy? rescue = options.Rescue ?? (options.Forensic is null ? null : new RescuePolicy());
        log.AppendLine($"{created:O} capture of {source.Path} ({source.Length} bytes, sectors {source.LogicalSectorSize}/{source.PhysicalSectorSize}) by {ToolVersion.Name}");
        var levels = new CompressionLevels(options.Level, StageSizing.CpuWorkers);
        Log.Information("Capture of {Source} ({SizeBytes} bytes, model {Model}, serial {Serial}) to {Image}, zstd level {Level}",
            source.Path, source.Length, sourceDisk?.Model, sourceDisk?.Serial, options.Image,
            levels.IsAdaptive ? $"{levels.Lowest}..{levels.Highest} (adaptive)" : $"{levels.Lowest}");
        CaptureLayout layout = CaptureLayout.Inspect(new UnreadableAsDamage(source), source.LogicalSectorSize);
        if (options.Forensic is not null)
        {
            layout = layout.ReadingEveryByte();
            log.AppendLine($"forensic: every byte read; source {(readOnly is null ? "is a file (no kernel read-only flag)" : "set read-only in the kernel (BLKROSET) for the capture")}");
        }
        Describe(layout, log);
        int chunkSize = ImageHeader.DefaultChunkSize;
        long dataBytes = layout.Frames(chunkSize, source.Alignment).Sum(f => (long)f.Length);
        if (options.Image != "-" && S3Store.Find(options.Image) is null && options.CheckFreeSpace)
        {
            // The used bytes are known before anything is written: refuse now rather than fill the store.
            StoreSpace.Require(Path.GetDirectoryName(Path.GetFullPath(options.Image))!, dataBytes);
        }
        ImageHeaderFlags flags = options.SplitBytes > 0 ? ImageHeaderFlags.Split : ImageHeaderFlags.None;
        if (options.Passphrase is not null)
        {
            // A key header, every frame sealed (docs/image-format.md "Encrypted images").
            flags |= ImageHeaderFlags.Encrypted;
        }
        var disk = new SourceDisk
        {
            Path = source.Path,
            Model = sourceDisk?.Model,
            Serial = sourceDisk?.Serial,
            SizeBytes = source.Length,
            LogicalSectorSize = source.LogicalSectorSize,
            PhysicalSectorSize = source.PhysicalSectorSize,
        };
        ImageMetadata metadata = layout.ToMetadata(disk, dataBytes, ToolVersion.Name, created) with
        {
            Compression = new CompressionInfo { LowestLevel = levels.Lowest, HighestLevel = levels.Highest, Adaptive = levels.IsAdaptive },
        };
        using IncrementalBase? onBase = options.Base is null ? null : IncrementalBase.Open(options, metadata, chunkSize);
        if (onBase is not null)
        {
            flags |= ImageHeaderFlags.Incremental;
            metadata = metadata with { Base = onBase.Describe() };
            log.AppendLine($"incremental on {onBase.Name} (image id {onBase.ImageId}): chunks unchanged since then are references to it");
        }
        // Every capture writes the newest version: its chunk hashes let a later capture be incremental on it.
        var header = new ImageHeader(flags, Guid.NewGuid(), chunkSize, options.SplitBytes, created.ToUnixTimeMilliseconds(), ImageHeader.CurrentVersion);

        using var output = new ImageOutput(options.Image, options.SplitBytes, options.Force, header.ImageId,
            standardOutput ?? Console.OpenStandardOutput, dataBytes);
        var reader = new RescueReader(source, rescue, position => BadRangeReport.Where(metadata, position));
        using SourceHashes? hashes = options.Forensic is null ? null : new SourceHashes();
        var meter = new ProgressMeter("capture", dataBytes, Progress)
        {
            BadAreas = rescue is null ? null : () => (reader.BadRanges.Count, reader.BadRanges.Bytes),
        };
        try
        {
            using var writer = new ImageWriter(output.Stream, header, options.Passphrase);
            using var encoder = new FrameEncoder(levels.Lowest);
            writer.WriteMetadata(metadata, encoder);
            foreach (var (entry, analysis) in layout.Partitions)
            {
                writer.WriteUsedMap(entry.Number, analysis.Map.ToBitmap(), encoder);
            }
            var referenced = new ReferenceCount();
            long frames = RunPipeline(source, layout, writer, reader, hashes, levels, meter, onBase, referenced, cancellationToken);
            log.AppendLine($"{DateTimeOffset.UtcNow:O} read {meter.Done} bytes in {frames} frames in {meter.Elapsed.TotalSeconds:F1} s; image {writer.Position} bytes before the index");
            if (onBase is not null)
            {
                log.AppendLine($"{IncrementalPrefix}{referenced.Frames} of {frames} frames ({referenced.Bytes} of {meter.Done} bytes) unchanged since {onBase.Name}, " +
                    $"{frames - referenced.Frames} frames stored");
            }
            log.AppendLine($"{CompressionPrefix}{levels.Describe()}");
            CaptureRecord? record = null;
            if (rescue is not null)
            {
                IReadOnlyList<BadRange> bad = reader.BadRanges.Merged();
                var warnings = new List<string>();
                IReadOnlyList<AffectedFile> files = bad.Count == 0 ? [] : AffectedFiles.Find(source.Path, metadata, bad,
                    (sourceDisk?.Partitions ?? []).ToDictionary(p => p.Number, p => p.Path), warnings);
                foreach (string warning in warnings)
                {
                    log.AppendLine($"  warning: {warning}");
                    Log.Warning("Capture of {Source}: {Warning}", source.Path, warning);
                }
                record = new CaptureRecord { FinishedUtc = DateTimeOffset.UtcNow, Rescue = true, BadRanges = bad, Files = files };
                if (hashes is not null && options.Forensic is { } forensic)
                {
                    hashes.ZerosTo(source.Length);
                    (string sha256, string md5) = hashes.Finish();
                    record = record with
                    {
                        Forensic = new ForensicRecord
                        {
                            Sha256 = sha256,
                            Md5 = md5,
                            Case = forensic.Case,
                            Examiner = forensic.Examiner,
                            Notes = forensic.Notes,
                            StartedUtc = created,
                            KernelReadOnly = readOnly is not null,
                            WasReadOnly = readOnly ?? false,
                        },
                    };
                    log.AppendLine($"forensic: sha256 {sha256} md5 {md5} of {source.Length} bytes as read");
                }
                log.AppendLine($"rescue: {record.BadRanges.Count} unreadable range(s), {record.UnreadableBytes} bytes, written as zeros");
                foreach (BadRange range in record.BadRanges)
                {
                    log.AppendLine($"  unreadable: {range.Position}+{range.Length} {BadRangeReport.Where(metadata, range.Position)}");
                    Log.Warning("Capture of {Source}: bytes {Position}+{Length} unreadable, {Where}", source.Path, range.Position, range.Length,
                        BadRangeReport.Where(metadata, range.Position));
                }
                foreach (AffectedFile file in files)
                {
                    log.AppendLine($"  lost: partition {file.Partition}: {file.Path}");
                }
            }
            writer.Finish(log.ToString(), encoder, record);
            output.Commit();
            if (record?.Forensic is not null && output.Name != "-")
            {
                ForensicReport.Write(output.Name, header, metadata, record);
            }
            Log.Information("Captured {Source} to {Image}: {DataBytes} bytes read in {Frames} frames, image {ImageBytes} bytes, {Seconds:F1} s",
                source.Path, output.Name, writer.DataBytes, frames, writer.Position, meter.Elapsed.TotalSeconds);
            return new CaptureResult(output.Name, writer.DataBytes, writer.Position, frames, meter.Elapsed, log.ToString(), record?.BadRanges)
            {
                Record = record,
                ReferencedBytes = referenced.Bytes,
            };
        }
        catch (OperationCanceledException)
        {
            Log.Warning("Capture of {Source} cancelled after {Bytes} bytes; the partial image was removed", source.Path, meter.Done);
            throw;
        }
        catch (IOException e) when (e is not DeviceException)
        {
            Log.Error("Capture of {Source}: writing {Image} failed: {Problem}", source.Path, output.Name, e.Message);
            throw new ImagingException($"writing the image {output.Name} failed: {e.Message}; no image was kept", e);
        }
    }

    /// <summary>Starts the capture log's line that says which zstd levels were used (<c>info</c> shows it).</summary>
    public const string CompressionPrefix = "compression: ";

    /// <summary>Starts an incremental capture's log line: how much was unchanged since the base.</summary>
    public const string IncrementalPrefix = "incremental: ";

    /// <summary>The reference frames an incremental capture wrote, counted by its writer thread.</summary>
    private sealed class ReferenceCount
    {
        public long Frames { get; set; }
        public long Bytes { get; set; }
    }

    private static long RunPipeline(BlockDevice source, CaptureLayout layout, ImageWriter writer, RescueReader reader, SourceHashes? hashes,
        CompressionLevels levels, ProgressMeter meter, IncrementalBase? onBase, ReferenceCount referenced, CancellationToken cancellationToken)
    {
        int chunkSize = writer.Header.ChunkSize;
        // Workers read and compress: the cores compress while the extra ones wait on the disk, so several reads are
        // in flight on a fast disk and no core waits on a slow one.
        int workers = StageSizing.CpuWorkers + StageSizing.IoWorkers;
        // An encrypted image's frame is sealed by the worker into the buffer's second half, which then holds the outer
        // header, the sealed header, the payload and the tag: a little more than a chunk.
        bool encrypted = writer.Header.IsEncrypted;
        int sealedBytes = encrypted ? (chunkSize + FrameSealer.Overhead + source.Alignment - 1) / source.Alignment * source.Alignment : chunkSize;
        int bufferBytes = chunkSize + sealedBytes;
        using var pool = new AlignedBufferPool(StageSizing.Buffers(2 * workers + 2, bufferBytes), bufferBytes, source.Alignment);
        using var pipeline = new Pipeline(cancellationToken);
        using IEnumerator<FramePlan> plans = layout.Frames(chunkSize, source.Alignment).GetEnumerator();
        // Every plan is one data frame, so the frame number is known when the plan is taken.
        uint nextFrame = writer.NextFrameNumber;
        long frames = OrderedStage.Run(pipeline, pool, workers,
            () => new CaptureWorker(new FrameEncoder(levels.Lowest), writer.CreateSealer()),
            buffer => plans.MoveNext() ? new CaptureItem(plans.Current, buffer, nextFrame++) : null,
            (item, worker) =>
            {
                FrameEncoder encoder = worker.Encoder;
                Read(source, reader, item);
                Span<byte> buffer = item.Buffer.Span;
                if (onBase?.Reference(item.Plan.Position, buffer[..item.Plan.Length]) is { } reference)
                {
                    // Unchanged since the base: nothing to compress or store.
                    item.Payload = reference;
                    return;
                }
                int level = levels.Begin();
                try
                {
                    if (encoder.Level != level)
                    {
                        encoder.Level = level;
                    }
                    if (worker.Sealer is { } sealer)
                    {
                        Span<byte> frame = buffer[chunkSize..];
                        item.Payload = encoder.Encode(buffer[..item.Plan.Length], frame[FrameSealer.PayloadOffset..]);
                        item.SealedLength = sealer.SealData(item.FrameNumber, item.Plan.Position, item.Payload, frame);
                    }
                    else
                    {
                        // Incompressible data stays where it was read and is written from there (no copy).
                        item.Payload = encoder.EncodeKeepingRaw(buffer[..item.Plan.Length], buffer[chunkSize..]);
                    }
                }
                finally
                {
                    levels.End(level, item.Payload.Encoding == FrameEncoding.Raw);
                }
            },
            item =>
            {
                Span<byte> buffer = item.Buffer.Span;
                if (item.Payload.Encoding == FrameEncoding.Reference)
                {
                    writer.WriteReference(item.Plan.Position, item.Payload);
                    referenced.Frames++;
                    referenced.Bytes += item.Plan.Length;
                }
                else if (item.SealedLength > 0)
                {
                    writer.WriteSealedData(item.Plan.Position, item.Payload, buffer.Slice(chunkSize, item.SealedLength));
                }
                else
                {
                    ReadOnlySpan<byte> payload = item.Payload.Encoding == FrameEncoding.Raw ? buffer[..item.Plan.Length] : buffer[chunkSize..];
                    writer.WriteData(item.Plan.Position, item.Payload, payload);
                }
                // In disk order here: the hashes of the source as read (a whole-disk capture has no gaps).
                hashes?.Append(item.Plan.Position, buffer[..item.Plan.Length]);
                meter.Add(item.Plan.Length, layout.PartitionAt(item.Plan.Position));
                return true;
            });
        meter.Add(0, 0, final: true);
        return frames;
    }

    /// <summary>A worker's own zstd context and, for an encrypted image, its own AES-GCM context.</summary>
    private sealed record CaptureWorker(FrameEncoder Encoder, FrameSealer? Sealer) : IDisposable
    {
        public void Dispose()
        {
            Encoder.Dispose();
            Sealer?.Dispose();
        }
    }

    private static void Read(BlockDevice source, RescueReader reader, CaptureItem item)
    {
        FramePlan plan = item.Plan;
        int alignedLength = (plan.Length + source.Alignment - 1) / source.Alignment * source.Alignment;
        Span<byte> buffer = item.Buffer.Span;
        int read = reader.Read(plan, buffer, alignedLength);
        if (read < plan.Length)
        {
            throw new ImagingException($"{source.Path} ended at byte {plan.Position + read} while {plan.Length} bytes were read from {plan.Position}");
        }
        foreach (var (offset, length) in plan.Gaps)
        {
            buffer.Slice(offset, length).Clear();
        }
    }

    private static void Describe(CaptureLayout layout, StringBuilder log)
    {
        log.AppendLine($"partition table: {layout.Table.Kind}, {layout.Partitions.Count} partition(s)");
        foreach (string warning in layout.Table.Warnings)
        {
            log.AppendLine($"  table warning: {warning}");
        }
        foreach (var (entry, analysis) in layout.Partitions)
        {
            log.AppendLine($"partition {entry.Number}: {entry.StartBytes}+{entry.SizeBytes} type {entry.Type}: {analysis.Kind.ToString().ToLowerInvariant()}, " +
                $"{analysis.Map.UsedCount}/{analysis.Map.BlockCount} blocks of {analysis.BlockSize} used ({analysis.Method})");
            if (analysis.UnusedMetadataBytes > 0)
            {
                log.AppendLine($"  {analysis.UnusedMetadataBytes} bytes of inode tables past bg_itable_unused not read" +
                    (analysis.RestoreFixups.Count > 0 ? $"; restore applies {string.Join(", ", analysis.RestoreFixups)}" : string.Empty));
            }
            foreach (string warning in analysis.Warnings)
            {
                log.AppendLine($"  warning: {warning}");
            }
            foreach (var lv in analysis.LogicalVolumes)
            {
                log.AppendLine($"  lv {lv.Name}: {lv.SizeBytes} bytes, {Formats.FileSystems.FileSystemKindNames.ToName(lv.FileSystem)}, {lv.UsedBytes} bytes used" +
                    (lv.WholeCopyReason is null ? string.Empty : $" (whole copy: {lv.WholeCopyReason})"));
            }
        }
        foreach (var region in layout.CopiedRegions)
        {
            log.AppendLine($"region {region.Kind}: {region.StartBytes}+{region.SizeBytes} copied");
        }
        long skipped = layout.Table.Regions.Where(r => r.Kind == Formats.Partitions.DiskRegionKind.Unpartitioned).Sum(r => r.SizeBytes);
        if (skipped > 0)
        {
            log.AppendLine($"unpartitioned space: {skipped} bytes not copied (no filesystem claims it)");
        }
    }

    private sealed class CaptureItem(FramePlan plan, AlignedBuffer buffer, uint frameNumber) : OrderedItem(buffer)
    {
        public FramePlan Plan { get; } = plan;
        public uint FrameNumber { get; } = frameNumber;
        public EncodedPayload Payload { get; set; }

        /// <summary>The sealed frame's length in the buffer's second half, for an encrypted image; else 0.</summary>
        public int SealedLength { get; set; }
    }
}
