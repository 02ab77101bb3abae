using Serilog;

namespace LiveImager.Engine.Targets;

/// <summary>Writes an object by multipart upload as the bytes come: each full part is sent while the next one fills,
/// a few in flight, so memory is (in flight + 1) parts whatever the image's size and nothing is staged on disk. The
/// object appears under its key only at <see cref="Complete"/>; disposed without it, the upload is aborted.</summary>
public sealed class S3UploadStream : Stream
{
    /// <summary>The smallest part S3 accepts except the last (the API reference's multipart limits: 5 MiB).</summary>
    public const int MinimumPartBytes = 5 << 20;

    /// <summary>S3's most parts in one upload.</summary>
    public const int MaximumParts = 10_000;

    /// <summary>Parts of 32 MiB: few requests per GiB, and three in flight keep a gigabit link busy.</summary>
    public const int DefaultPartBytes = 32 << 20;

    /// <summary>The bytes of parts in flight at most (three of 32 MiB); larger parts mean fewer at once. With the
    /// part filling, 128 MiB: a capture to a local server measured as fast as to a local directory with it.</summary>
    private const long InFlightBytes = 96L << 20;

    private readonly S3Client _client;
    private readonly string _key;
    private readonly string _uploadId;
    private readonly int _partBytes;
    private readonly SemaphoreSlim _slots;
    private readonly int _slotCount;
    private readonly CancellationTokenSource _cancel = new();
    private readonly List<string?> _etags = [];
    private readonly List<Task> _uploads = [];
    private readonly Stack<byte[]> _free = new();
    private byte[] _current;
    private int _filled;
    private long _length;
    private Exception? _failure;
    private bool _completed;
    private bool _disposed;

    /// <summary>Starts the upload of <paramref name="key"/>; <paramref name="expectedBytes"/> (the worst-case image
    /// size, 0 when unknown) makes parts large enough that the image fits in S3's 10,000 parts.</summary>
    public S3UploadStream(S3Client client, string key, long expectedBytes)
    {
        _client = client;
        _key = key;
        _partBytes = PartBytesFor(expectedBytes);
        _slotCount = (int)Math.Clamp(InFlightBytes / _partBytes, 1, 3);
        _slots = new SemaphoreSlim(_slotCount);
        _uploadId = client.CreateUpload(key);
        _current = new byte[_partBytes];
        Log.Information("Upload of {Key} to {Store} started: parts of {PartBytes} bytes, {InFlight} in flight", key, client.Location.ToString(),
            _partBytes, _slotCount);
    }

    /// <summary>The part size for an image of about <paramref name="expectedBytes"/>: 32 MiB, or larger (whole MiB) so
    /// that 9,000 parts hold it, leaving room for an image larger than expected.</summary>
    public static int PartBytesFor(long expectedBytes)
    {
        long needed = (expectedBytes / 9_000 + (1 << 20)) & ~((1L << 20) - 1);
        return (int)Math.Clamp(needed, DefaultPartBytes, 1L << 30);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfFailed();
        while (buffer.Length > 0)
        {
            int take = Math.Min(buffer.Length, _partBytes - _filled);
            buffer[..take].CopyTo(_current.AsSpan(_filled));
            _filled += take;
            _length += take;
            buffer = buffer[take..];
            if (_filled == _partBytes)
            {
                SendPart();
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Sends the filled part in the background once a slot is free; the next part fills a buffer from the
    /// free list (or a new one, at most one per slot plus the one filling).</summary>
    private void SendPart()
    {
        if (_etags.Count >= MaximumParts)
        {
            throw new StoreException(StoreProblem.Full, $"{_client.Location}: the image outgrew S3's {MaximumParts} parts of {_partBytes} bytes");
        }
        try
        {
            _slots.Wait(_cancel.Token);
        }
        catch (OperationCanceledException)
        {
            // Only a failed part cancels this: report the failure, never a cancellation the user did not ask for.
            ThrowIfFailed();
            throw;
        }
        ThrowIfFailed();
        byte[] part = _current;
        int length = _filled;
        int number = _etags.Count + 1;
        _etags.Add(null);
        lock (_free)
        {
            _current = _free.Count > 0 ? _free.Pop() : new byte[_partBytes];
        }
        _filled = 0;
        _uploads.Add(Task.Run(() =>
        {
            try
            {
                string etag = _client.UploadPart(_key, _uploadId, number, part.AsMemory(0, length), _cancel.Token);
                lock (_etags)
                {
                    _etags[number - 1] = etag;
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
                _cancel.Cancel();
            }
            finally
            {
                lock (_free)
                {
                    _free.Push(part);
                }
                _slots.Release();
            }
        }));
        _uploads.RemoveAll(t => t.IsCompleted);
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw failure is StoreException ? new StoreException(((StoreException)failure).Problem, failure.Message, failure)
                : new IOException($"uploading to {_client.Location} failed: {failure.Message}", failure);
        }
    }

    /// <summary>Sends the last part, waits for every part, and completes the upload: the object now exists.</summary>
    public void Complete()
    {
        if (_filled > 0 || _etags.Count == 0)
        {
            SendPart();
        }
        WaitForUploads();
        ThrowIfFailed();
        _client.CompleteUpload(_key, _uploadId, _etags.Select(e => e!).ToList());
        _completed = true;
        Log.Information("Upload of {Key} to {Store} complete: {Bytes} bytes in {Parts} parts", _key, _client.Location.ToString(), _length, _etags.Count);
    }

    private void WaitForUploads()
    {
        try
        {
            Task.WaitAll(_uploads.ToArray());
        }
        catch (AggregateException)
        {
            // Each task records its own failure in _failure.
        }
    }

    /// <summary>Closes the stream; an upload not completed is aborted, so no half image and no orphaned parts remain.
    /// A server that refuses the abort (or is gone) is logged: its parts then wait for the bucket's lifecycle rule.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (!_completed)
            {
                _cancel.Cancel();
                WaitForUploads();
                try
                {
                    _client.AbortUpload(_key, _uploadId);
                    Log.Information("Upload of {Key} to {Store} aborted; no object was created", _key, _client.Location.ToString());
                }
                catch (IOException e)
                {
                    Log.Warning("Aborting the upload {UploadId} of {Key} to {Store} failed: {Problem}. No object was created, but the " +
                        "uploaded parts may stay on the server until a lifecycle rule (AbortIncompleteMultipartUpload) removes them",
                        _uploadId, _key, _client.Location.ToString(), e.Message.TrimEnd('.'));
                    AbortFailure = e.Message;
                }
            }
            _cancel.Dispose();
            _slots.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Why the abort of an unfinished upload failed, or null.</summary>
    public string? AbortFailure { get; private set; }

    /// <summary>Nothing to flush: a part is sent only when full (S3's parts but the last are at least 5 MiB).</summary>
    public override void Flush()
    {
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
