namespace LiveImager.Formats.ImageFormat;

/// <summary>The logical image read from its volume files as one seekable, read-only stream.</summary>
/// <remarks>Every volume's header is checked when the stream is opened, so a missing, swapped or foreign volume is
/// reported before any frame is used. An image that is not split is its first volume.</remarks>
public sealed class VolumeReaderStream : Stream
{
    private readonly Func<int, Stream?> _openVolume;
    private readonly Func<int, string> _volumeName;
    private readonly long[] _volumeLengths;
    private readonly long _volumeSize;
    private Stream? _current;
    private int _currentNumber;
    private long _position;

    /// <param name="openVolume">Opens volume n (1, 2, …) as a seekable stream, or returns null when it does not exist.</param>
    /// <param name="volumeName">The name of volume n, for messages.</param>
    public VolumeReaderStream(Func<int, Stream?> openVolume, Func<int, string> volumeName)
    {
        _openVolume = openVolume;
        _volumeName = volumeName;
        Stream first = openVolume(1) ?? throw new FileNotFoundException($"{volumeName(1)} does not exist", volumeName(1));
        var headerBytes = new byte[ImageHeader.Length];
        int got = first.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false);
        ImageHeader header = ImageHeader.Parse(headerBytes.AsSpan(0, got));
        Header = header;
        _volumeSize = header.VolumeSize;
        var lengths = new List<long> { first.Length };
        _current = first;
        _currentNumber = 1;
        if (header.IsSplit)
        {
            ReadVolumeHeaders(header, lengths);
        }
        _volumeLengths = [.. lengths];
        Length = header.IsSplit
            ? VolumeLayout.LogicalStart(_volumeLengths.Length, _volumeSize) + _volumeLengths[^1] - (_volumeLengths.Length > 1 ? VolumeHeader.Length : 0)
            : first.Length;
    }

    /// <summary>The image header, already validated.</summary>
    public ImageHeader Header { get; }

    /// <summary>Number of volume files found.</summary>
    public int VolumeCount => _volumeLengths.Length;

    private void ReadVolumeHeaders(ImageHeader header, List<long> lengths)
    {
        var bytes = new byte[VolumeHeader.Length];
        for (int number = 2; ; number++)
        {
            using Stream? volume = _openVolume(number);
            if (volume is null)
            {
                using Stream? after = _openVolume(number + 1);
                if (after is not null)
                {
                    throw new DiskFormatException("image volumes", $"{_volumeName(number)} is missing, but {_volumeName(number + 1)} exists");
                }
                return;
            }
            if (lengths[^1] != _volumeSize)
            {
                throw new DiskFormatException("image volumes", "volume length", lengths[^1], 0,
                    $"{_volumeName(number - 1)} must be {_volumeSize} bytes since {_volumeName(number)} follows it: the volume is truncated");
            }
            int got = volume.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            VolumeHeader volumeHeader = VolumeHeader.Parse(bytes.AsSpan(0, got), _volumeName(number));
            string structure = $"volume header of {_volumeName(number)}";
            if (volumeHeader.ImageId != header.ImageId)
            {
                throw new DiskFormatException(structure, "image id", volumeHeader.ImageId, 0x10,
                    $"belongs to another image (this image's id is {header.ImageId})");
            }
            if (volumeHeader.VolumeNumber != number)
            {
                throw new DiskFormatException(structure, "volume number", volumeHeader.VolumeNumber, 0x0C,
                    $"expected volume {number}: the volume files are swapped or renamed");
            }
            long expected = VolumeLayout.LogicalStart(number, _volumeSize);
            if (volumeHeader.LogicalOffset != expected)
            {
                throw new DiskFormatException(structure, "logical offset", volumeHeader.LogicalOffset, 0x20,
                    $"expected {expected} for volume {number} of {_volumeSize}-byte volumes");
            }
            lengths.Add(volume.Length);
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (_position >= Length || buffer.IsEmpty)
        {
            return 0;
        }
        int number = Header.IsSplit ? VolumeLayout.VolumeOf(_position, _volumeSize) : 1;
        long inVolume = _position - (Header.IsSplit ? VolumeLayout.LogicalStart(number, _volumeSize) : 0);
        long fileOffset = inVolume + (number > 1 ? VolumeHeader.Length : 0);
        long left = _volumeLengths[number - 1] - fileOffset;
        if (number != _currentNumber || _current is null)
        {
            _current?.Dispose();
            _current = _openVolume(number) ?? throw new DiskFormatException("image volumes", $"{_volumeName(number)} disappeared while it was read");
            _currentNumber = number;
        }
        _current.Position = fileOffset;
        int read = _current.Read(buffer[..(int)Math.Min(buffer.Length, left)]);
        _position += read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override long Seek(long offset, SeekOrigin origin)
    {
        _position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };
        return _position;
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

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length { get; }
    public override long Position { get => _position; set => _position = value; }
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
