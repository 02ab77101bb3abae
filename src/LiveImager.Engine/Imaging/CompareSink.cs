using LiveImager.Engine.Devices;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>Compares decoded frames with a disk (<c>verify --against</c>), byte for byte, where the image's used-block
/// maps and regions say the bytes matter; unused bytes (zeroed in the image, stale on the disk) are not compared.</summary>
/// <remarks>With an image file the used maps are streamed: each partition's map is read again from the image, one
/// piece (at most a chunk) at a time, as the comparison reaches that partition, so memory stays the same whatever the
/// filesystem's size. An image read from a pipe can be read only once: its maps are kept as they pass (one bit per
/// block, 32 MiB per TiB of a 4 KiB-block filesystem).</remarks>
internal sealed class CompareSink : FrameSink
{
    private readonly BlockDevice _device;
    private readonly AlignedBufferPool _pool;
    private readonly ImageMetadata _metadata;
    private readonly Func<Stream>? _openImage;
    private readonly ImagePassphrase? _passphrase;
    private readonly Dictionary<int, List<byte[]>> _bitmaps = [];
    private IEnumerator<(long Start, long Length)>? _runs;
    private bool _runsLeft;

    /// <param name="openImage">Opens the image again from its start, to stream the used maps; null for a pipe, whose
    /// maps come through <see cref="AddUsedMap"/>.</param>
    /// <param name="passphrase">An encrypted image's passphrase, for those fresh reads.</param>
    public CompareSink(string path, ImageMetadata metadata, int chunkSize, Func<Stream>? openImage, ImagePassphrase? passphrase = null) : base(path)
    {
        _passphrase = passphrase;
        _device = DiskGuard.OpenSource(path, new DiskScanner(), out _);
        _pool = new AlignedBufferPool(1, chunkSize, _device.Alignment);
        _metadata = metadata;
        _openImage = openImage;
    }

    /// <summary>Bytes compared and found equal.</summary>
    public long BytesCompared { get; private set; }

    /// <summary>Keeps a used-map frame of an image read from a pipe (called by the image reader before the first data
    /// frame). The reader has checked that it belongs to a partition and continues its map, and that each map ends up as
    /// long as the partition's block count needs; nothing is sized from the metadata's numbers here, only from the bytes
    /// the image holds.</summary>
    public void AddUsedMap(in FrameHeader frame, byte[] bitmap)
    {
        int number = (int)frame.Tag;
        if (!_bitmaps.TryGetValue(number, out List<byte[]>? pieces))
        {
            pieces = [];
            _bitmaps[number] = pieces;
        }
        pieces.Add(bitmap);
    }

    public override void Write(in FrameHeader frame, Span<byte> raw)
    {
        if (_runs is null)
        {
            _runs = UsedRuns().GetEnumerator();
            _runsLeft = _runs.MoveNext();
        }
        long frameEnd = frame.Position + frame.RawLength;
        using AlignedBuffer buffer = _pool.Rent();
        int alignedLength = (frame.RawLength + _device.Alignment - 1) / _device.Alignment * _device.Alignment;
        int read = _device.ReadAligned(frame.Position, buffer.Span[..alignedLength]);
        while (_runsLeft && _runs.Current.Start < frameEnd)
        {
            var (start, length) = _runs.Current;
            long from = Math.Max(start, frame.Position);
            long to = Math.Min(start + length, frameEnd);
            if (to > from)
            {
                int offset = (int)(from - frame.Position);
                int count = (int)(to - from);
                if (offset + count > read)
                {
                    throw new ImagingException($"{Name} ends at byte {frame.Position + read}, before the image's data at {to}");
                }
                ReadOnlySpan<byte> expected = raw.Slice(offset, count);
                ReadOnlySpan<byte> actual = buffer.Span.Slice(offset, count);
                int same = expected.CommonPrefixLength(actual);
                if (same < count)
                {
                    throw new ImagingException($"{Name} differs from the image at disk byte {from + same} " +
                        $"(image frame {frame.FrameNumber}, disk bytes {frame.Position}..{frameEnd})");
                }
                BytesCompared += count;
            }
            if (start + length > frameEnd)
            {
                break;
            }
            _runsLeft = _runs.MoveNext();
        }
        CountDone(frame.RawLength);
    }

    private IEnumerable<(long Start, long Length)> UsedRuns()
    {
        var sources = new List<(long Start, IEnumerable<(long, long)> Runs)>();
        foreach (RegionInfo region in _metadata.Regions)
        {
            sources.Add((region.StartBytes, [(region.StartBytes, region.SizeBytes)]));
        }
        foreach (PartitionInfo partition in _metadata.Partitions)
        {
            long start = partition.StartBytes;
            IEnumerable<(long, long)> runs;
            if (partition.BlockSize <= 0)
            {
                runs = [(start, partition.SizeBytes)];
            }
            else if (_openImage is not null)
            {
                runs = StreamedRuns(partition);
            }
            else if (_bitmaps.TryGetValue(partition.Number, out List<byte[]>? pieces))
            {
                byte[] bitmap = pieces.Count == 1 ? pieces[0] : [.. pieces.SelectMany(p => p)];
                var map = UsedBlockMap.FromBitmap(bitmap, partition.BlockCount, partition.BlockSize);
                var analysis = new FileSystemAnalysis(FileSystemKind.Unknown, null, null, map, partition.Method, []);
                runs = analysis.UsedByteRuns(partition.SizeBytes).Select(r => (start + r.Offset, r.Length));
            }
            else
            {
                runs = [(start, partition.SizeBytes)];
            }
            sources.Add((start, runs));
        }
        return sources.OrderBy(s => s.Start).SelectMany(s => s.Runs);
    }

    /// <summary>A partition's used byte runs, from its map read piece by piece from a fresh read of the image (the maps
    /// are in partition-number order, the comparison goes in disk order); the whole partition when the image has no
    /// map for it. As when a capture reads the map, bytes past the map's end are used.</summary>
    private IEnumerable<(long Start, long Length)> StreamedRuns(PartitionInfo partition)
    {
        long start = partition.StartBytes;
        long mapBytes = Math.Min(partition.BlockCount * partition.BlockSize, partition.SizeBytes);
        using Stream image = _openImage!();
        using var reader = new ImageReader(image, _passphrase);
        byte[] piece = new byte[reader.Header.ChunkSize];
        bool found = false;
        while (reader.TryReadUsedMap(piece, out FrameHeader frame))
        {
            if (frame.Tag != partition.Number)
            {
                if (found)
                {
                    break;
                }
                continue;
            }
            found = true;
            if (frame.Position >= (partition.BlockCount + 7) / 8)
            {
                continue;
            }
            long firstBlock = frame.Position * 8;
            long blocks = Math.Min((long)frame.RawLength * 8, partition.BlockCount - firstBlock);
            if (blocks <= 0)
            {
                continue;
            }
            var map = UsedBlockMap.FromBitmap(piece.AsSpan(0, (int)((blocks + 7) / 8)), blocks, partition.BlockSize);
            foreach (var (first, count) in map.UsedRuns())
            {
                long offset = (firstBlock + first) * partition.BlockSize;
                if (offset >= mapBytes)
                {
                    break;
                }
                yield return (start + offset, Math.Min(count * partition.BlockSize, mapBytes - offset));
            }
        }
        if (!found)
        {
            yield return (start, partition.SizeBytes);
        }
        else if (mapBytes < partition.SizeBytes)
        {
            yield return (start + mapBytes, partition.SizeBytes - mapBytes);
        }
    }

    public override void Complete()
    {
    }

    public override void Dispose()
    {
        _runs?.Dispose();
        _pool.Dispose();
        _device.Dispose();
    }
}
