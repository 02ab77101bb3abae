using System.Buffers;

namespace LiveImager.Engine.Devices;

/// <summary>One buffer rented from an <see cref="AlignedBufferPool"/>; disposing it returns it to the pool.</summary>
public sealed unsafe class AlignedBuffer : IDisposable
{
    private readonly AlignedBufferPool _pool;
    private byte* _pointer;
    private NativeMemoryManager? _memory;

    internal AlignedBuffer(AlignedBufferPool pool, byte* pointer, int capacity)
    {
        _pool = pool;
        _pointer = pointer;
        Capacity = capacity;
    }

    /// <summary>The buffer's size in bytes.</summary>
    public int Capacity { get; }

    public Span<byte> Span => new(Pointer, Capacity);

    public Memory<byte> Memory => (_memory ??= new NativeMemoryManager(this)).Memory;

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

    // Memory<T> over native memory needs a MemoryManager; it reads the owner's pointer so a returned buffer fails loudly.
    private sealed class NativeMemoryManager(AlignedBuffer owner) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => owner.Span;

        public override MemoryHandle Pin(int elementIndex = 0) => new(owner.Pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
