namespace LiveImager.Engine.Targets;

/// <summary>Reads an object through ranged GETs in chunks: front to back with several chunks fetched ahead (restore,
/// verify), or at random with none ahead (the index, the footer, <c>info</c>). Memory is (ahead + 1) chunks.</summary>
public sealed class S3ReadStream : Stream
{
    private readonly S3Client _client;
    private readonly string _key;
    private readonly int _chunkBytes;
    private readonly int _ahead;
    private readonly CancellationTokenSource _cancel = new();
    private readonly Queue<(long Index, Task<byte[]> Chunk)> _pending = new();
    private readonly Stack<byte[]> _free = new();
    private long _position;
    private long _chunkIndex = -1;
    private byte[] _chunk = [];

    /// <param name="ahead">Chunks fetched ahead of the one being read, each by its own request.</param>
    public S3ReadStream(S3Client client, string key, long length, int chunkBytes, int ahead)
    {
        _client = client;
        _key = key;
        Length = length;
        _chunkBytes = chunkBytes;
        _ahead = ahead;
    }

    public override long Length { get; }

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(Span<byte> buffer)
    {
        if (_position >= Length || buffer.Length == 0)
        {
            return 0;
        }
        long index = _position / _chunkBytes;
        if (index != _chunkIndex)
        {
            byte[] previous = _chunk;
            _chunk = Fetch(index);
            _chunkIndex = index;
            if (previous.Length == _chunkBytes && _free.Count < _ahead + 1)
            {
                // Reused by a later fetch: chunks of several MiB are large objects, which the GC frees late.
                _free.Push(previous);
            }
        }
        int offset = (int)(_position - index * _chunkBytes);
        int count = Math.Min(buffer.Length, _chunk.Length - offset);
        if (count <= 0)
        {
            throw new IOException($"{_client.Location}: {_key} ended at byte {index * _chunkBytes + _chunk.Length}, before its length {Length}");
        }
        _chunk.AsSpan(offset, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>The chunk <paramref name="index"/>: taken from the fetches ahead when it is the next, else fetched now
    /// (a seek drops what was fetched ahead); then the fetches ahead are topped up.</summary>
    private byte[] Fetch(long index)
    {
        while (_pending.Count > 0 && _pending.Peek().Index != index)
        {
            Forget(_pending.Dequeue().Chunk);
        }
        Task<byte[]> chunk = _pending.Count > 0 ? _pending.Dequeue().Chunk : Start(index);
        long next = _pending.Count > 0 ? _pending.Last().Index + 1 : index + 1;
        while (_pending.Count < _ahead && next * _chunkBytes < Length)
        {
            _pending.Enqueue((next, Start(next)));
            next++;
        }
        try
        {
            return chunk.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(S3ReadStream));
        }
    }

    private Task<byte[]> Start(long index)
    {
        long start = index * _chunkBytes;
        int length = (int)Math.Min(_chunkBytes, Length - start);
        CancellationToken token = _cancel.Token;
        byte[] bytes = length == _chunkBytes && _free.Count > 0 ? _free.Pop() : new byte[length];
        return Task.Run(() =>
        {
            int read = _client.Read(_key, start, bytes, token);
            return read == length ? bytes : bytes[..read];
        }, token);
    }

    /// <summary>A fetch no longer wanted: its failure (if any) is observed and dropped.</summary>
    private static void Forget(Task<byte[]> chunk) => chunk.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => Length + offset,
    };

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cancel.Cancel();
            while (_pending.Count > 0)
            {
                Forget(_pending.Dequeue().Chunk);
            }
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
