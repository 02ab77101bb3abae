using System.Buffers.Binary;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Imaging;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>The ordered stage that capture, restore and verify share: items come out in the order they were taken
/// whatever the workers' pace, the first fault is the error reported, and every pool buffer comes back on every path.</summary>
public sealed class OrderedStageTests
{
    private const int BufferSize = 4096;

    [Fact]
    public void ItemsAreDeliveredInTheOrderTheyWereTakenWhateverTheWorkersPace()
    {
        using var pool = new AlignedBufferPool(8, BufferSize);
        using var pipeline = new Pipeline(CancellationToken.None);
        var delivered = new List<int>();
        int workersMade = 0;
        int workersDisposed = 0;
        int next = 0;

        long count = OrderedStage.Run(pipeline, pool, workers: 6,
            () =>
            {
                Interlocked.Increment(ref workersMade);
                return new Worker(() => Interlocked.Increment(ref workersDisposed));
            },
            buffer => next < 400 ? new Item(next++, buffer) : null,
            (item, worker) =>
            {
                // Some items take far longer than others, so they finish out of order.
                Thread.Sleep(worker.Random.Next(4) == 0 ? worker.Random.Next(1, 4) : 0);
                BinaryPrimitives.WriteInt32LittleEndian(item.Buffer.Span, item.Value);
            },
            item =>
            {
                Assert.Equal(item.Value, BinaryPrimitives.ReadInt32LittleEndian(item.Buffer.Span));
                delivered.Add(item.Value);
                return true;
            });

        Assert.Equal(400, count);
        Assert.Equal(Enumerable.Range(0, 400), delivered);
        Assert.Equal(6, workersMade);
        Assert.Equal(6, workersDisposed);
        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public void TheCallersCancellationStopsTheStageAndEveryBufferComesBack()
    {
        using var pool = new AlignedBufferPool(8, BufferSize);
        using var cancellation = new CancellationTokenSource();
        using var pipeline = new Pipeline(cancellation.Token);
        int next = 0;
        int delivered = 0;

        Assert.ThrowsAny<OperationCanceledException>(() => OrderedStage.Run(pipeline, pool, workers: 4, () => new Worker(),
            buffer => new Item(next++, buffer),
            (_, worker) => Thread.Sleep(worker.Random.Next(2)),
            _ =>
            {
                if (++delivered == 50)
                {
                    cancellation.Cancel();
                }
                return true;
            }));

        Assert.True(delivered >= 50);
        Assert.Equal(0, pool.Rented);
    }

    /// <summary>Where a fault can strike: taking the next item (the image reader on restore), working on it (a capture
    /// worker's disk read or its compressor, a restore worker's decoder), and delivering it (the image writer).</summary>
    [Theory]
    [InlineData("reader")]
    [InlineData("compressor")]
    [InlineData("writer")]
    public void TheFirstFaultIsTheErrorReportedAndEveryBufferComesBack(string where)
    {
        using var pool = new AlignedBufferPool(8, BufferSize);
        using var pipeline = new Pipeline(CancellationToken.None);
        int next = 0;
        int disposed = 0;

        var error = Assert.Throws<InvalidDataException>(() => OrderedStage.Run(pipeline, pool, workers: 4,
            () => new Worker(() => Interlocked.Increment(ref disposed)),
            buffer =>
            {
                if (where == "reader" && next == 37)
                {
                    throw new InvalidDataException($"injected in the {where}");
                }
                return new Item(next++, buffer);
            },
            (item, worker) =>
            {
                Thread.Sleep(worker.Random.Next(2));
                if (where == "compressor" && item.Value == 37)
                {
                    throw new InvalidDataException($"injected in the {where}");
                }
            },
            item =>
            {
                if (where == "writer" && item.Value == 37)
                {
                    throw new InvalidDataException($"injected in the {where}");
                }
                return true;
            }));

        Assert.Equal($"injected in the {where}", error.Message);
        Assert.Equal(4, disposed);
        Assert.Equal(0, pool.Rented);
    }

    /// <summary>A reader is a stream: once a read failed, the next would start in the middle of what it could not read
    /// and fail with a misleading error ("frame 38: expected frame 37"). No worker reads on after a failed read.</summary>
    [Fact]
    public void NoWorkerReadsOnAfterAFailedRead()
    {
        using var pool = new AlignedBufferPool(8, BufferSize);
        using var pipeline = new Pipeline(CancellationToken.None);
        int next = 0;
        bool failed = false;
        int readsAfterTheFailure = 0;

        var error = Assert.Throws<InvalidDataException>(() => OrderedStage.Run(pipeline, pool, workers: 4, () => new Worker(),
            buffer =>
            {
                // Slow reads, so that the other workers wait at the lock when one fails.
                Thread.Sleep(1);
                if (failed)
                {
                    readsAfterTheFailure++;
                    throw new InvalidDataException("read on after the failure");
                }
                if (next == 37)
                {
                    failed = true;
                    throw new InvalidDataException("item 37 cannot be read");
                }
                return new Item(next++, buffer);
            },
            (_, _) => { },
            _ => true));

        Assert.Equal("item 37 cannot be read", error.Message);
        Assert.Equal(0, readsAfterTheFailure);
        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public void ADelivererThatStopsEndsTheStageWithoutAnErrorAndEveryBufferComesBack()
    {
        using var pool = new AlignedBufferPool(8, BufferSize);
        using var pipeline = new Pipeline(CancellationToken.None);
        int next = 0;
        bool ended = false;

        long count = OrderedStage.Run(pipeline, pool, workers: 3, () => new Worker(),
            buffer => new Item(next++, buffer),
            (_, _) => { },
            item => item.Value < 20,
            () => ended = true);

        Assert.Equal(20, count);
        Assert.True(ended);
        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public void AnItemHandedOnKeepsItsBufferUntilItsLastHolderLetsGo()
    {
        using var pool = new AlignedBufferPool(4, BufferSize);
        using var pipeline = new Pipeline(CancellationToken.None);
        var held = new List<Item>();
        int next = 0;

        OrderedStage.Run(pipeline, pool, workers: 2, () => new Worker(),
            buffer => next < 3 ? new Item(next++, buffer) : null,
            (_, _) => { },
            item =>
            {
                item.Retain();
                held.Add(item);
                return true;
            });

        Assert.Equal(3, pool.Rented);
        foreach (Item item in held)
        {
            item.Release();
        }
        Assert.Equal(0, pool.Rented);
    }

    private sealed class Item(int value, AlignedBuffer buffer) : OrderedItem(buffer)
    {
        public int Value { get; } = value;
    }

    private sealed class Worker(Action? disposed = null) : IDisposable
    {
        public Random Random { get; } = new(Environment.CurrentManagedThreadId);

        public void Dispose() => disposed?.Invoke();
    }
}
