namespace LiveImager.Engine.Opening;

/// <summary>The most recently used decoded data frames, at most a fixed number of chunk-sized buffers: the memory bound
/// of random access, whatever the image's size.</summary>
/// <remarks>Bytes are copied out under the lock, so a buffer evicted while another thread reads it is never reused
/// under that reader.</remarks>
internal sealed class FrameCache(int capacity, int chunkSize)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, LinkedListNode<(int Frame, byte[] Raw)>> _byFrame = [];
    private readonly LinkedList<(int Frame, byte[] Raw)> _recent = new();
    private readonly Stack<byte[]> _spare = new();

    public int Capacity => capacity;

    /// <summary>Copies <paramref name="destination"/>.Length bytes of frame <paramref name="frame"/> from
    /// <paramref name="offset"/>; false when the frame is not cached.</summary>
    public bool TryCopy(int frame, int offset, Span<byte> destination)
    {
        lock (_lock)
        {
            if (!_byFrame.TryGetValue(frame, out LinkedListNode<(int Frame, byte[] Raw)>? node))
            {
                return false;
            }
            _recent.Remove(node);
            _recent.AddFirst(node);
            node.Value.Raw.AsSpan(offset, destination.Length).CopyTo(destination);
            return true;
        }
    }

    /// <summary>Forgets every cached frame (their buffers become spares): after what a frame decodes to has changed.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            foreach ((int _, byte[] raw) in _recent)
            {
                _spare.Push(raw);
            }
            _recent.Clear();
            _byFrame.Clear();
        }
    }

    /// <summary>A buffer to decode into: an evicted one when there is one.</summary>
    public byte[] Rent()
    {
        lock (_lock)
        {
            return _spare.TryPop(out byte[]? buffer) ? buffer : new byte[chunkSize];
        }
    }

    /// <summary>Gives back a buffer that was rented and not added (a decode failed, or another thread won).</summary>
    public void Return(byte[] buffer)
    {
        lock (_lock)
        {
            // Spares beyond a few would only hold memory: one per decoding thread is enough.
            if (_spare.Count < Environment.ProcessorCount)
            {
                _spare.Push(buffer);
            }
        }
    }

    /// <summary>Keeps <paramref name="raw"/> as frame <paramref name="frame"/>, evicting the least recently used.</summary>
    public void Add(int frame, byte[] raw)
    {
        byte[]? unused = null;
        lock (_lock)
        {
            if (_byFrame.ContainsKey(frame))
            {
                unused = raw;
            }
            else
            {
                if (_byFrame.Count >= capacity)
                {
                    LinkedListNode<(int Frame, byte[] Raw)> oldest = _recent.Last!;
                    _recent.RemoveLast();
                    _byFrame.Remove(oldest.Value.Frame);
                    unused = oldest.Value.Raw;
                }
                _byFrame[frame] = _recent.AddFirst((frame, raw));
            }
        }
        if (unused is not null)
        {
            Return(unused);
        }
    }
}
