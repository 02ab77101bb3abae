using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;

namespace LiveImager.Engine.Devices;

/// <summary>A fixed number of aligned native buffers for O_DIRECT I/O; its size is the pipeline's memory bound.</summary>
/// <remarks>Buffers are allocated on first use and freed on <see cref="Dispose"/>; <see cref="Rent"/> blocks while
/// every buffer is out, which is what holds memory constant however large the disk is.</remarks>
public sealed unsafe class AlignedBufferPool : IDisposable
{
    private readonly SemaphoreSlim _available;
    private readonly ConcurrentBag<nint> _free = [];
    private readonly int _alignment;
    private int _rented;
    private bool _disposed;

    public AlignedBufferPool(int bufferCount, int bufferSize, int alignment = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        if (alignment < sizeof(nint) || !BitOperations.IsPow2(alignment))
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "must be a power of two of at least the pointer size");
        }
        if (bufferSize % alignment != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, $"must be a multiple of the alignment {alignment}");
        }
        BufferCount = bufferCount;
        BufferSize = bufferSize;
        _alignment = alignment;
        _available = new SemaphoreSlim(bufferCount, bufferCount);
    }

    /// <summary>How many buffers the pool holds at most.</summary>
    public int BufferCount { get; }

    /// <summary>The size of every buffer, a multiple of the alignment.</summary>
    public int BufferSize { get; }

    /// <summary>Buffers rented and not yet returned: 0 once a job is over, whether it finished, failed or was
    /// cancelled (every stage returns what it holds).</summary>
    public int Rented => Volatile.Read(ref _rented);

    /// <summary>Takes a buffer, waiting while all are rented; dispose the buffer to give it back.</summary>
    public AlignedBuffer Rent(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _available.Wait(cancellationToken);
        if (!_free.TryTake(out nint block))
        {
            try
            {
                block = (nint)NativeMemory.AlignedAlloc((nuint)BufferSize, (nuint)_alignment);
            }
            catch
            {
                _available.Release();
                throw;
            }
        }
        Interlocked.Increment(ref _rented);
        return new AlignedBuffer(this, (byte*)block, BufferSize);
    }

    internal void Return(byte* block)
    {
        Interlocked.Decrement(ref _rented);
        lock (_free)
        {
            if (_disposed)
            {
                NativeMemory.AlignedFree(block);
                return;
            }
            _free.Add((nint)block);
        }
        _available.Release();
    }

    /// <summary>Frees the buffers in the pool; buffers still rented are freed when they come back.</summary>
    public void Dispose()
    {
        lock (_free)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            while (_free.TryTake(out nint block))
            {
                NativeMemory.AlignedFree((void*)block);
            }
        }
        _available.Dispose();
    }
}
