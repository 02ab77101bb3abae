using LiveImager.Engine.Devices;
using Xunit;

namespace LiveImager.Engine.Tests.Devices;

public sealed class AlignedBufferPoolTests
{
    [Theory]
    [InlineData(4096)]
    [InlineData(65536)]
    public unsafe void BuffersAreAlignedAndSized(int alignment)
    {
        using var pool = new AlignedBufferPool(bufferCount: 3, bufferSize: 4 * alignment, alignment);
        var buffers = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        foreach (var buffer in buffers)
        {
            Assert.Equal(4 * alignment, buffer.Capacity);
            Assert.Equal(4 * alignment, buffer.Span.Length);
            fixed (byte* pointer = buffer.Span)
            {
                Assert.Equal(0u, (nuint)pointer % (nuint)alignment);
            }
            buffer.Dispose();
        }
    }

    [Fact]
    public async Task RentBeyondTheBoundBlocksUntilABufferIsReturned()
    {
        using var pool = new AlignedBufferPool(bufferCount: 2, bufferSize: 4096);
        var first = pool.Rent();
        using var second = pool.Rent();
        var third = Task.Run(() => pool.Rent());
        await Task.WhenAny(third, Task.Delay(300));
        Assert.False(third.IsCompleted, "a third buffer was handed out while two of two were rented");
        first.Dispose();
        using var released = await third.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public unsafe void ReturnedBuffersAreReused()
    {
        using var pool = new AlignedBufferPool(bufferCount: 1, bufferSize: 8192);
        nint firstAddress;
        using (var buffer = pool.Rent())
        {
            buffer.Span.Fill(0xAB);
            fixed (byte* pointer = buffer.Span)
            {
                firstAddress = (nint)pointer;
            }
        }
        using var again = pool.Rent();
        fixed (byte* pointer = again.Span)
        {
            Assert.Equal(firstAddress, (nint)pointer);
        }
    }

    [Fact]
    public void WaitingRentHonoursCancellation()
    {
        using var pool = new AlignedBufferPool(bufferCount: 1, bufferSize: 4096);
        using var held = pool.Rent();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.Throws<OperationCanceledException>(() => pool.Rent(cancellation.Token));
    }

    [Fact]
    public async Task AReturnedBufferCannotBeUsedOrReturnedTwice()
    {
        using var pool = new AlignedBufferPool(bufferCount: 1, bufferSize: 4096);
        var buffer = pool.Rent();
        buffer.Dispose();
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.Span.Length);
        var next = pool.Rent();
        var blocked = Task.Run(() => pool.Rent());
        await Task.WhenAny(blocked, Task.Delay(200));
        Assert.False(blocked.IsCompleted, "a double Dispose returned the buffer twice");
        next.Dispose();
        using var released = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(0, 4096, 4096)]
    [InlineData(1, 0, 4096)]
    [InlineData(1, 4096, 3000)]
    [InlineData(1, 5000, 4096)]
    public void InvalidShapesAreRejected(int count, int size, int alignment)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBufferPool(count, size, alignment));
    }
}
