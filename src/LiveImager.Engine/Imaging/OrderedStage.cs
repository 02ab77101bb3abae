using System.Collections.Concurrent;
using LiveImager.Engine.Devices;

namespace LiveImager.Engine.Imaging;

/// <summary>One piece of work in an <see cref="OrderedStage"/>: a pool buffer, its place in the order, and how many
/// holders it still has; the last holder to let go returns the buffer to its pool.</summary>
internal abstract class OrderedItem(AlignedBuffer buffer)
{
    private int _holders = 1;

    /// <summary>Its place in the order: 0 for the first item taken, then +1.</summary>
    public long Sequence { get; internal set; }

    public AlignedBuffer Buffer { get; } = buffer;

    /// <summary>One more holder: call before handing the item on to another thread (a restore target's queue).</summary>
    public void Retain() => Interlocked.Increment(ref _holders);

    /// <summary>Lets go of one hold; the last returns the buffer.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            Buffer.Dispose();
        }
    }
}

/// <summary>The one ordered pipeline stage that capture, restore and verify are built on: items taken one at a time in
/// order, processed by several workers at once, and delivered in their order by one thread (STYLE.md habit 9).</summary>
/// <remarks>
/// Each worker rents a buffer, takes the next item under a lock (so items are numbered in the order they are taken),
/// then processes it outside the lock: a capture worker reads the disk and compresses, so while some workers wait on
/// the disk others compress, and several reads are in flight; a restore worker decodes what it took from the image.
/// The delivering thread restores the order. Every buffer comes back to the pool on every path — done, failed or
/// cancelled: a worker returns what it holds when it stops, the deliverer releases what waits in its reorder table,
/// and <see cref="Run"/> drains what is left between them once every thread has ended.
/// </remarks>
internal static class OrderedStage
{
    /// <summary>Runs the stage on <paramref name="pipeline"/> and waits for every stage the pipeline has (sinks the
    /// caller started on it too); throws the first fault, or <see cref="OperationCanceledException"/> on the caller's
    /// cancellation.</summary>
    /// <param name="newWorker">Each worker's own state (a zstd context), disposed when the worker ends.</param>
    /// <param name="take">The next item, built around the rented buffer, or null at the end; called by one worker at a
    /// time, in order, and never again once it threw or returned null. When it throws or returns null the stage
    /// returns the buffer.</param>
    /// <param name="process">Works on an item; called by several workers at once.</param>
    /// <param name="deliver">Called on one thread in the items' order; returns false to stop the job early without an
    /// error (nothing left to do it for). The stage lets go of its hold on the item after it returns, so an item handed
    /// on must be <see cref="OrderedItem.Retain"/>ed first.</param>
    /// <param name="delivered">Called once when delivery ends, however it ends (to complete the queues it fed).</param>
    /// <returns>The items delivered.</returns>
    public static long Run<TItem, TWorker>(Pipeline pipeline, AlignedBufferPool pool, int workers, Func<TWorker> newWorker,
        Func<AlignedBuffer, TItem?> take, Action<TItem, TWorker> process, Func<TItem, bool> deliver, Action? delivered = null)
        where TItem : OrderedItem
        where TWorker : IDisposable
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        var takeLock = new Lock();
        long nextSequence = 0;
        bool ended = false;
        int workersLeft = workers;
        long deliveredCount = 0;
        using var done = new BlockingCollection<TItem>(pool.BufferCount);
        try
        {
            for (int i = 0; i < workers; i++)
            {
                pipeline.Start("worker", () =>
                {
                    try
                    {
                        using TWorker state = newWorker();
                        while (true)
                        {
                            AlignedBuffer buffer = pool.Rent(pipeline.Token);
                            TItem? item;
                            try
                            {
                                lock (takeLock)
                                {
                                    item = null;
                                    if (!ended)
                                    {
                                        // Ended until take returns: a reader that threw stands in the middle of what it
                                        // could not read, so no other worker may read on from there.
                                        ended = true;
                                        item = take(buffer);
                                        ended = item is null;
                                    }
                                    if (item is not null)
                                    {
                                        item.Sequence = nextSequence++;
                                    }
                                }
                            }
                            catch
                            {
                                buffer.Dispose();
                                throw;
                            }
                            if (item is null)
                            {
                                buffer.Dispose();
                                return;
                            }
                            try
                            {
                                pipeline.Token.ThrowIfCancellationRequested();
                                process(item, state);
                                done.Add(item, pipeline.Token);
                            }
                            catch
                            {
                                item.Release();
                                throw;
                            }
                        }
                    }
                    finally
                    {
                        if (Interlocked.Decrement(ref workersLeft) == 0)
                        {
                            done.CompleteAdding();
                        }
                    }
                });
            }
            pipeline.Start("deliverer", () =>
            {
                var waiting = new Dictionary<long, TItem>();
                try
                {
                    long next = 0;
                    foreach (TItem item in done.GetConsumingEnumerable(pipeline.Token))
                    {
                        waiting.Add(item.Sequence, item);
                        while (waiting.Remove(next, out TItem? ready))
                        {
                            bool more;
                            try
                            {
                                more = deliver(ready);
                            }
                            finally
                            {
                                ready.Release();
                            }
                            if (!more)
                            {
                                pipeline.Stop();
                                return;
                            }
                            Interlocked.Exchange(ref deliveredCount, ++next);
                        }
                    }
                }
                finally
                {
                    foreach (TItem left in waiting.Values)
                    {
                        left.Release();
                    }
                    delivered?.Invoke();
                }
            });
            pipeline.Wait();
        }
        finally
        {
            // Every thread has ended (Wait returns or throws only then): what is still queued has no holder but this.
            while (done.TryTake(out TItem? left))
            {
                left.Release();
            }
        }
        return Interlocked.Read(ref deliveredCount);
    }
}
