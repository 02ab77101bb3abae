using System.Collections.Concurrent;
using LiveImager.Engine.Devices;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>Reads an image front to back, decodes and checks its frames on all cores, and hands them in disk order to
/// every sink: one read and one decompression however many targets (restore T1 T2 …).</summary>
internal static class FrameDecodePipeline
{
    private const int MaxBuffers = 24;

    /// <summary>Runs to the footer. Image damage or the caller's cancellation throws; a sink's failure only stops that sink.</summary>
    /// <param name="observe">Sees every frame in order on the dispatching thread, before the sinks do.</param>
    /// <param name="stopWhenEverySinkFails">Stop reading once every sink has failed (a restore with no target left),
    /// rather than read the image to its end (a verify, which checks the image whatever the device compared with does).</param>
    /// <returns>The frames dispatched: all of them, unless every sink failed and <paramref name="stopWhenEverySinkFails"/>.</returns>
    public static long Run(ImageReader reader, IReadOnlyList<FrameSink> sinks, ProgressMeter meter, Func<long, int> partitionAt,
        Action<FrameHeader, ReadOnlySpan<byte>>? observe, bool stopWhenEverySinkFails, CancellationToken cancellationToken)
    {
        int chunkSize = reader.Header.ChunkSize;
        int workers = Math.Clamp(Environment.ProcessorCount, 1, 16);
        int bufferCount = Math.Min(MaxBuffers, 2 * workers + 4 + 2 * sinks.Count);
        using var pool = new AlignedBufferPool(bufferCount, 2 * chunkSize);
        using var pipeline = new Pipeline(cancellationToken);
        using var toDecode = new BlockingCollection<DecodeItem>(bufferCount);
        using var decoded = new BlockingCollection<DecodeItem>(bufferCount);
        var toSinks = sinks.Select(_ => new BlockingCollection<DecodeItem>(bufferCount)).ToArray();
        int decodersLeft = workers;
        long frames = 0;
        try
        {
            pipeline.Start("image reader", () =>
            {
                try
                {
                    long sequence = 0;
                    while (true)
                    {
                        AlignedBuffer buffer = pool.Rent(pipeline.Token);
                        FrameHeader frame;
                        bool more;
                        try
                        {
                            more = reader.TryReadData(buffer.Span[chunkSize..], out frame);
                        }
                        catch
                        {
                            buffer.Dispose();
                            throw;
                        }
                        if (!more)
                        {
                            buffer.Dispose();
                            return;
                        }
                        toDecode.Add(new DecodeItem(sequence++, frame, buffer), pipeline.Token);
                    }
                }
                finally
                {
                    toDecode.CompleteAdding();
                }
            });
            for (int i = 0; i < workers; i++)
            {
                pipeline.Start("decoder", () =>
                {
                    try
                    {
                        using var decoder = new FrameDecoder();
                        foreach (DecodeItem item in toDecode.GetConsumingEnumerable(pipeline.Token))
                        {
                            try
                            {
                                Span<byte> buffer = item.Buffer.Span;
                                decoder.Decode(item.Frame, buffer[chunkSize..], buffer[..chunkSize]);
                            }
                            catch
                            {
                                item.Buffer.Dispose();
                                throw;
                            }
                            decoded.Add(item, pipeline.Token);
                        }
                    }
                    finally
                    {
                        if (Interlocked.Decrement(ref decodersLeft) == 0)
                        {
                            decoded.CompleteAdding();
                        }
                    }
                });
            }
            pipeline.Start("dispatcher", () =>
            {
                var waiting = new Dictionary<long, DecodeItem>();
                try
                {
                    long next = 0;
                    foreach (DecodeItem item in decoded.GetConsumingEnumerable(pipeline.Token))
                    {
                        if (stopWhenEverySinkFails && sinks.Count > 0 && sinks.All(s => s.Failure is not null))
                        {
                            item.Buffer.Dispose();
                            frames = next;
                            pipeline.Stop();
                            return;
                        }
                        waiting.Add(item.Sequence, item);
                        while (waiting.Remove(next, out DecodeItem? ready))
                        {
                            Dispatch(ready, sinks, toSinks, observe, pipeline.Token);
                            meter.Add(ready.Frame.RawLength, partitionAt(ready.Frame.Position));
                            next++;
                        }
                    }
                    frames = next;
                }
                finally
                {
                    foreach (DecodeItem left in waiting.Values)
                    {
                        left.Buffer.Dispose();
                    }
                    foreach (var queue in toSinks)
                    {
                        queue.CompleteAdding();
                    }
                }
            });
            for (int s = 0; s < sinks.Count; s++)
            {
                FrameSink sink = sinks[s];
                BlockingCollection<DecodeItem> queue = toSinks[s];
                pipeline.Start(sink.Name, () =>
                {
                    foreach (DecodeItem item in queue.GetConsumingEnumerable(pipeline.Token))
                    {
                        try
                        {
                            if (sink.Failure is null)
                            {
                                sink.Write(item.Frame, item.Buffer.Span[..chunkSize]);
                                sink.Took(item.Frame.RawLength);
                            }
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            sink.Failure = e;
                        }
                        finally
                        {
                            item.Release();
                        }
                    }
                });
            }
            pipeline.Wait();
        }
        finally
        {
            Drain(toDecode);
            Drain(decoded);
            foreach (var queue in toSinks)
            {
                while (queue.TryTake(out DecodeItem? item))
                {
                    item.Release();
                }
                queue.Dispose();
            }
        }
        meter.Add(0, 0, final: true);
        return frames;
    }

    private static void Dispatch(DecodeItem item, IReadOnlyList<FrameSink> sinks, BlockingCollection<DecodeItem>[] toSinks,
        Action<FrameHeader, ReadOnlySpan<byte>>? observe, CancellationToken cancellationToken)
    {
        item.References = sinks.Count + 1;
        int handed = 0;
        try
        {
            observe?.Invoke(item.Frame, item.Buffer.Span[..item.Frame.RawLength]);
            for (; handed < sinks.Count; handed++)
            {
                toSinks[handed].Add(item, cancellationToken);
            }
        }
        finally
        {
            // The dispatcher's own reference, and those of the sinks it never reached.
            for (int s = handed; s <= sinks.Count; s++)
            {
                item.Release();
            }
        }
    }

    private static void Drain(BlockingCollection<DecodeItem> queue)
    {
        while (queue.TryTake(out DecodeItem? item))
        {
            item.Buffer.Dispose();
        }
    }

    private sealed class DecodeItem(long sequence, FrameHeader frame, AlignedBuffer buffer)
    {
        private int _references;

        public long Sequence { get; } = sequence;
        public FrameHeader Frame { get; } = frame;
        public AlignedBuffer Buffer { get; } = buffer;

        /// <summary>How many holders must release the buffer: each sink, and the dispatcher.</summary>
        public int References { set => _references = value; }

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                Buffer.Dispose();
            }
        }
    }
}
