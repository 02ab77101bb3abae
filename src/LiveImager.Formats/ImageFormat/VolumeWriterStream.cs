namespace LiveImager.Formats.ImageFormat;

/// <summary>A write-only stream that cuts the logical image into volume files of a fixed size.</summary>
/// <remarks>Never seeks, so each volume may itself be a pipe. A finished volume is handed to the caller's
/// <c>finishVolume</c> before the next is opened (the Engine makes it durable there), so a volume that exists is
/// complete once the next one does. Formats decides no durability itself.</remarks>
public sealed class VolumeWriterStream : Stream
{
    private readonly Func<int, Stream> _openVolume;
    private readonly Action<Stream> _finishVolume;
    private readonly long _volumeSize;
    private readonly Guid _imageId;
    private Stream? _current;
    private int _currentNumber;
    private long _roomInCurrent;
    private long _position;

    /// <param name="openVolume">Creates volume n (1, 2, …); the caller names and owns the files.</param>
    /// <param name="finishVolume">Called with a volume before it is closed, and with the open one by <see cref="Flush"/>:
    /// the caller flushes it to stable storage.</param>
    public VolumeWriterStream(Func<int, Stream> openVolume, Action<Stream> finishVolume, long volumeSize, Guid imageId)
    {
        if (volumeSize < VolumeHeader.MinVolumeSize)
        {
            throw new ArgumentOutOfRangeException(nameof(volumeSize), volumeSize, $"volumes must hold at least {VolumeHeader.MinVolumeSize} bytes");
        }
        _openVolume = openVolume;
        _finishVolume = finishVolume;
        _volumeSize = volumeSize;
        _imageId = imageId;
    }

    /// <summary>Volumes opened so far.</summary>
    public int VolumeCount => _currentNumber;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            if (_roomInCurrent == 0)
            {
                OpenNext();
            }
            int piece = (int)Math.Min(buffer.Length, _roomInCurrent);
            _current!.Write(buffer[..piece]);
            buffer = buffer[piece..];
            _roomInCurrent -= piece;
            _position += piece;
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    private void OpenNext()
    {
        CloseCurrent();
        _currentNumber++;
        _current = _openVolume(_currentNumber);
        _roomInCurrent = VolumeLayout.LogicalCapacity(_currentNumber, _volumeSize);
        if (_currentNumber > 1)
        {
            Span<byte> header = stackalloc byte[VolumeHeader.Length];
            new VolumeHeader(_currentNumber, _imageId, _position).Write(header);
            _current.Write(header);
        }
    }

    private void CloseCurrent()
    {
        if (_current is null)
        {
            return;
        }
        _finishVolume(_current);
        _current.Dispose();
        _current = null;
    }

    /// <summary>Hands the open volume to the caller's <c>finishVolume</c>, which flushes it to stable storage.</summary>
    public override void Flush()
    {
        if (_current is not null)
        {
            _finishVolume(_current);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
