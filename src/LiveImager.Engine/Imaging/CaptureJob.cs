using System.Collections.Concurrent;
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
public sealed record CaptureOptions(string Source, string Image, int Level = CaptureOptions.DefaultLevel, long SplitBytes = 0, bool Force = false,
    bool CheckFreeSpace = true)
{
    /// <summary>zstd level 1. Measured on this project's 2-core machine (a 1 GiB make-test-disk.sh disk, 494 MiB used):
    /// level 1 captured in 7.7 s to 237.2 MB, level 3 in 13.9 s to 228.6 MB; partclone | zstd -3 of the same
    /// partitions made 229.0 MB. Level 1 is 1.8× faster for an image 1.04× partclone's, inside the 1.05× budget,
    /// and capture is bound by compression, so level 1 is the default; <c>--level 3</c> buys the last 4%.</summary>
    public const int DefaultLevel = 1;
}

/// <summary>How a capture went.</summary>
public sealed record CaptureResult(string Image, long DataBytes, long ImageBytes, long Frames, TimeSpan Elapsed, string Log);

/// <summary>Captures a disk (or disk image file) into an image: reads only the used bytes in large aligned reads,
/// compresses them on all cores, and writes the frames in order.</summary>
/// <remarks>Stages: one reader (aligned O_DIRECT reads into pool buffers), one compressor per core, one ordered
/// writer, joined by bounded queues. Memory is the buffer pool, whatever the disk's size (DESIGN.md invariant 5).</remarks>
public sealed class CaptureJob(CaptureOptions options, Func<Stream>? standardOutput = null)
{
    /// <summary>Most buffers in flight: each holds a chunk and its compressed copy (8 MiB), so at most 192 MiB.</summary>
    private const int MaxBuffers = 24;

    /// <summary>Raised a few times a second from the writer stage; handlers must not block.</summary>
    public event Action<ImagingProgress>? Progress;

    public CaptureResult Run(CancellationToken cancellationToken)
    {
        var log = new StringBuilder();
        var created = DateTimeOffset.UtcNow;
        DiskPath.Check(options.Source, DiskRole.Source);
        DiskInfo? sourceDisk = DiskGuard.CheckSource(options.Source, new DiskScanner());
        using BlockDevice source = BlockDevice.OpenRead(options.Source);
        log.AppendLine($"{created:O} capture of {source.Path} ({source.Length} bytes, sectors {source.LogicalSectorSize}/{source.PhysicalSectorSize}) by {ToolVersion.Name}");
        Log.Information("Capture of {Source} ({SizeBytes} bytes, model {Model}, serial {Serial}) to {Image}, zstd level {Level}",
            source.Path, source.Length, sourceDisk?.Model, sourceDisk?.Serial, options.Image, options.Level);
        CaptureLayout layout = CaptureLayout.Inspect(source, source.LogicalSectorSize);
        Describe(layout, log);
        int chunkSize = ImageHeader.DefaultChunkSize;
        long dataBytes = layout.Frames(chunkSize, source.Alignment).Sum(f => (long)f.Length);
        if (options.Image != "-" && options.CheckFreeSpace)
        {
            // The used bytes are known before anything is written: refuse now rather than fill the store.
            StoreSpace.Require(Path.GetDirectoryName(Path.GetFullPath(options.Image))!, dataBytes);
        }
        var header = new ImageHeader(options.SplitBytes > 0 ? ImageHeaderFlags.Split : ImageHeaderFlags.None, Guid.NewGuid(),
            chunkSize, options.SplitBytes, created.ToUnixTimeMilliseconds(), layout.ImageVersion);
        var disk = new SourceDisk
        {
            Path = source.Path,
            Model = sourceDisk?.Model,
            Serial = sourceDisk?.Serial,
            SizeBytes = source.Length,
            LogicalSectorSize = source.LogicalSectorSize,
            PhysicalSectorSize = source.PhysicalSectorSize,
        };
        ImageMetadata metadata = layout.ToMetadata(disk, dataBytes, ToolVersion.Name, created);

        using var output = new ImageOutput(options.Image, options.SplitBytes, options.Force, header.ImageId,
            standardOutput ?? Console.OpenStandardOutput);
        var meter = new ProgressMeter("capture", dataBytes, Progress);
        try
        {
            var writer = new ImageWriter(output.Stream, header);
            using var encoder = new FrameEncoder(options.Level);
            writer.WriteMetadata(metadata, encoder);
            foreach (var (entry, analysis) in layout.Partitions)
            {
                writer.WriteUsedMap(entry.Number, analysis.Map.ToBitmap(), encoder);
            }
            long frames = RunPipeline(source, layout, writer, meter, cancellationToken);
            log.AppendLine($"{DateTimeOffset.UtcNow:O} read {meter.Done} bytes in {frames} frames in {meter.Elapsed.TotalSeconds:F1} s; image {writer.Position} bytes before the index");
            writer.Finish(log.ToString(), encoder);
            output.Commit();
            Log.Information("Captured {Source} to {Image}: {DataBytes} bytes read in {Frames} frames, image {ImageBytes} bytes, {Seconds:F1} s",
                source.Path, output.Name, writer.DataBytes, frames, writer.Position, meter.Elapsed.TotalSeconds);
            return new CaptureResult(output.Name, writer.DataBytes, writer.Position, frames, meter.Elapsed, log.ToString());
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

    private long RunPipeline(BlockDevice source, CaptureLayout layout, ImageWriter writer, ProgressMeter meter, CancellationToken cancellationToken)
    {
        int chunkSize = writer.Header.ChunkSize;
        int workers = Math.Clamp(Environment.ProcessorCount, 1, 16);
        int bufferCount = Math.Min(MaxBuffers, 2 * workers + 4);
        using var pool = new AlignedBufferPool(bufferCount, 2 * chunkSize, source.Alignment);
        using var pipeline = new Pipeline(cancellationToken);
        // Bounded queues between thread stages; the pool bounds how many items exist at all.
        using var toCompress = new BlockingCollection<CaptureItem>(bufferCount);
        using var toWrite = new BlockingCollection<CaptureItem>(bufferCount);
        long frames = 0;
        int compressorsLeft = workers;
        try
        {
            pipeline.Start("reader", () =>
            {
                try
                {
                    long sequence = 0;
                    foreach (FramePlan plan in layout.Frames(chunkSize, source.Alignment))
                    {
                        var item = new CaptureItem(sequence++, plan, pool.Rent(pipeline.Token));
                        try
                        {
                            Read(source, item);
                        }
                        catch
                        {
                            item.Buffer.Dispose();
                            throw;
                        }
                        toCompress.Add(item, pipeline.Token);
                    }
                }
                finally
                {
                    toCompress.CompleteAdding();
                }
            });
            for (int i = 0; i < workers; i++)
            {
                pipeline.Start("compressor", () =>
                {
                    try
                    {
                        using var encoder = new FrameEncoder(options.Level);
                        foreach (CaptureItem item in toCompress.GetConsumingEnumerable(pipeline.Token))
                        {
                            Span<byte> buffer = item.Buffer.Span;
                            item.Payload = encoder.Encode(buffer[..item.Plan.Length], buffer[chunkSize..]);
                            toWrite.Add(item, pipeline.Token);
                        }
                    }
                    finally
                    {
                        if (Interlocked.Decrement(ref compressorsLeft) == 0)
                        {
                            toWrite.CompleteAdding();
                        }
                    }
                });
            }
            pipeline.Start("writer", () =>
            {
                var waiting = new Dictionary<long, CaptureItem>();
                try
                {
                    long next = 0;
                    foreach (CaptureItem item in toWrite.GetConsumingEnumerable(pipeline.Token))
                    {
                        waiting.Add(item.Sequence, item);
                        while (waiting.Remove(next, out CaptureItem? ready))
                        {
                            using (ready.Buffer)
                            {
                                writer.WriteData(ready.Plan.Position, ready.Payload, ready.Buffer.Span[chunkSize..]);
                            }
                            meter.Add(ready.Plan.Length, layout.PartitionAt(ready.Plan.Position));
                            next++;
                        }
                    }
                    frames = next;
                }
                finally
                {
                    foreach (CaptureItem left in waiting.Values)
                    {
                        left.Buffer.Dispose();
                    }
                }
            });
            pipeline.Wait();
        }
        finally
        {
            Drain(toCompress);
            Drain(toWrite);
        }
        meter.Add(0, 0, final: true);
        return frames;
    }

    private static void Read(BlockDevice source, CaptureItem item)
    {
        FramePlan plan = item.Plan;
        int alignedLength = (plan.Length + source.Alignment - 1) / source.Alignment * source.Alignment;
        Span<byte> buffer = item.Buffer.Span;
        int read = source.ReadAligned(plan.Position, buffer[..alignedLength]);
        if (read < plan.Length)
        {
            throw new ImagingException($"{source.Path} ended at byte {plan.Position + read} while {plan.Length} bytes were read from {plan.Position}");
        }
        foreach (var (offset, length) in plan.Gaps)
        {
            buffer.Slice(offset, length).Clear();
        }
    }

    private static void Drain(BlockingCollection<CaptureItem> queue)
    {
        while (queue.TryTake(out CaptureItem? item))
        {
            item.Buffer.Dispose();
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

    private sealed class CaptureItem(long sequence, FramePlan plan, AlignedBuffer buffer)
    {
        public long Sequence { get; } = sequence;
        public FramePlan Plan { get; } = plan;
        public AlignedBuffer Buffer { get; } = buffer;
        public EncodedPayload Payload { get; set; }
    }
}
