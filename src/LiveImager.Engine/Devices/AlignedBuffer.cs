namespace LiveImager.Engine.Devices;

/// <summary>One buffer rented from an <see cref="AlignedBufferPool"/>; disposing it returns it to the pool.</summary>
public sealed unsafe class AlignedBuffer : IDisposable
{
    private readonly AlignedBufferPool _pool;
    private byte* _pointer;

    internal AlignedBuffer(AlignedBufferPool pool, byte* pointer, int capacity)
    {
        _pool = pool;
        _pointer = pointer;
        Capacity = capacity;
    }

    /// <summary>The buffer's size in bytes.</summary>
    public int Capacity { get; }

    public Span<byte> Span => new(Pointer, Capacity);

    private byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer is null, this);
            return _pointer;
        }
    }

    public void Dispose()
    {
        byte* pointer = _pointer;
        if (pointer is not null)
        {
            _pointer = null;
            _pool.Return(pointer);
        }
    }
}
