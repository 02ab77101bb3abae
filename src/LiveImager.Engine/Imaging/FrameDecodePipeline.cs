using System.Collections.Concurrent;
using LiveImager.Engine.Devices;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>Reads an image front to back, decodes and checks its frames on all cores, and hands them in disk order to
/// every sink: one read and one decompression however many targets (restore T1 T2 …).</summary>
/// <remarks>One <see cref="OrderedStage"/> (workers take frames from the image in turn and decode them; one thread
/// dispatches them in order), then per sink a queue and <see cref="FrameSink.Writers"/> threads, so a target that
/// takes several writes at once has them in flight. A frame's buffer goes back to the pool when the last sink is
/// done with it.</remarks>
internal static class FrameDecodePipeline
{
    /// <summary>Runs to the footer. Image damage or the caller's cancellation throws; a sink's failure only stops that sink.</summary>
    /// <param name="observe">Sees every frame in order on the dispatching thread, before the sinks do.</param>
    /// <param name="stopWhenEverySinkFails">Stop reading once every sink has failed (a restore with no target left),
    /// rather than read the image to its end (a verify, which checks the image whatever the device compared with does).</param>
    /// <returns>The frames dispatched: all of them, unless every sink failed and <paramref name="stopWhenEverySinkFails"/>.</returns>
    /// <param name="chain">An incremental image's bases, which its reference frames are read from; null for a full image.</param>
    public static long Run(ImageReader reader, ImageChain? chain, IReadOnlyList<FrameSink> sinks, ProgressMeter meter, Func<long, int> partitionAt,
        Action<FrameHeader, ReadOnlySpan<byte>>? observe, bool stopWhenEverySinkFails, CancellationToken cancellationToken)
    {
        int chunkSize = reader.Header.ChunkSize;
        // One more worker than cores: while one waits on the image's store, the others decode.
        int workers = StageSizing.CpuWorkers + 1;
        int sinkWriters = sinks.Sum(s => s.Writers);
        int bufferBytes = 2 * chunkSize;
        using var pool = new AlignedBufferPool(StageSizing.Buffers(2 * workers + 2 + 2 * sinkWriters, bufferBytes), bufferBytes);
        return Run(reader, chain, sinks, pool, workers, meter, partitionAt, observe, stopWhenEverySinkFails, cancellationToken);
    }

    /// <summary><see cref="Run(ImageReader, ImageChain?, IReadOnlyList{FrameSink}, ProgressMeter, Func{long, int}, Action{FrameHeader, ReadOnlySpan{byte}}?, bool, CancellationToken)"/>
    /// with the caller's pool, whose buffers are twice the chunk size: a test sees every buffer come back.</summary>
    internal static long Run(ImageReader reader, ImageChain? chain, IReadOnlyList<FrameSink> sinks, AlignedBufferPool pool, int workers, ProgressMeter meter,
        Func<long, int> partitionAt, Action<FrameHeader, ReadOnlySpan<byte>>? observe, bool stopWhenEverySinkFails, CancellationToken cancellationToken)
    {
        int chunkSize = reader.Header.ChunkSize;
        using var pipeline = new Pipeline(cancellationToken);
        var toSinks = sinks.Select(s => new BlockingCollection<DecodeItem>(Math.Max(1, pool.BufferCount / 2))).ToArray();
        try
        {
            for (int s = 0; s < sinks.Count; s++)
            {
                FrameSink sink = sinks[s];
                BlockingCollection<DecodeItem> queue = toSinks[s];
                for (int w = 0; w < sink.Writers; w++)
                {
                    pipeline.Start(sink.Name, () => Write(sink, queue, pipeline.Token));
                }
            }
            long frames = OrderedStage.Run(pipeline, pool, workers,
                () => new DecodeWorker(reader.CreateSealer()),
                buffer => reader.TryReadData(buffer.Span, chunkSize, out FrameHeader frame, out SealedData? sealedData)
                    ? new DecodeItem(frame, buffer) { Sealed = sealedData } : null,
                (item, worker) =>
                {
                    Span<byte> buffer = item.Buffer.Span;
                    FrameDecoder decoder = worker.Decoder;
                    if (item.Sealed is { } sealedData)
                    {
                        // The reader left the frame sealed (its header just before the payload): opened here, on all cores.
                        worker.Sealer!.OpenData(sealedData, buffer.Slice(chunkSize - FrameHeader.Length, FrameHeader.Length + item.Frame.StoredLength), chunkSize);
                    }
                    if (item.Frame.Encoding == FrameEncoding.Reference && chain is not null)
                    {
                        // The bytes are in a base image: read from there (the stored half is free scratch).
                        chain.Read(item.Frame, decoder, buffer[chunkSize..], buffer[..chunkSize]);
                    }
                    // A raw frame is checked where it was read and written from there: no copy.
                    else if (FrameDecoder.TryCheckRawInPlace(item.Frame, buffer[chunkSize..]))
                    {
                        item.RawOffset = chunkSize;
                    }
                    else
                    {
                        decoder.Decode(item.Frame, buffer[chunkSize..], buffer[..chunkSize]);
                    }
                },
                item =>
                {
                    if (stopWhenEverySinkFails && sinks.Count > 0 && sinks.All(s => s.Failure is not null))
                    {
                        return false;
                    }
                    observe?.Invoke(item.Frame, item.Raw[..item.Frame.RawLength]);
                    foreach (var queue in toSinks)
                    {
                        item.Retain();
                        try
                        {
                            queue.Add(item, pipeline.Token);
                        }
                        catch
                        {
                            item.Release();
                            throw;
                        }
                    }
                    meter.Add(item.Frame.RawLength, partitionAt(item.Frame.Position));
                    return true;
                },
                () =>
                {
                    foreach (var queue in toSinks)
                    {
                        queue.CompleteAdding();
                    }
                });
            meter.Add(0, 0, final: true);
            return frames;
        }
        finally
        {
            foreach (var queue in toSinks)
            {
                while (queue.TryTake(out DecodeItem? item))
                {
                    item.Release();
                }
                queue.Dispose();
            }
        }
    }

    /// <summary>One of a sink's writer threads: takes frames from its queue until it ends; a failed sink keeps its
    /// error and lets the frames go by.</summary>
    private static void Write(FrameSink sink, BlockingCollection<DecodeItem> queue, CancellationToken cancellationToken)
    {
        foreach (DecodeItem item in queue.GetConsumingEnumerable(cancellationToken))
        {
            try
            {
                if (sink.Failure is null)
                {
                    sink.Write(item.Frame, item.Raw);
                    sink.CountTaken(item.Frame.RawLength);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                sink.Failure ??= e;
            }
            finally
            {
                item.Release();
            }
        }
    }

    /// <summary>A worker's own zstd context and, for an encrypted image, its own AES-GCM context.</summary>
    private sealed class DecodeWorker(FrameSealer? sealer) : IDisposable
    {
        public FrameDecoder Decoder { get; } = new();

        public FrameSealer? Sealer { get; } = sealer;

        public void Dispose()
        {
            Decoder.Dispose();
            Sealer?.Dispose();
        }
    }

    private sealed class DecodeItem(FrameHeader frame, AlignedBuffer buffer) : OrderedItem(buffer)
    {
        public FrameHeader Frame { get; } = frame;

        /// <summary>Set when the frame still has to be opened: an encrypted image's data frame.</summary>
        public SealedData? Sealed { get; init; }

        /// <summary>Where the checked raw bytes start in the buffer: 0 once decoded, the stored half for a raw frame.</summary>
        public int RawOffset { get; set; }

        /// <summary>The raw bytes, aligned, from <see cref="RawOffset"/> to the end of the chunk-sized half.</summary>
        public Span<byte> Raw => Buffer.Span.Slice(RawOffset, Buffer.Span.Length / 2);
    }
}
