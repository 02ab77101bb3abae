using LiveImager.Engine.Devices;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.ImageFormat;
using PartitionInfo = LiveImager.Formats.ImageFormat.PartitionInfo;

namespace LiveImager.Engine.Imaging;

/// <summary>Compares decoded frames with a disk (<c>verify --against</c>), byte for byte, where the image's used-block
/// maps and regions say the bytes matter; unused bytes (zeroed in the image, stale on the disk) are not compared.</summary>
internal sealed class CompareSink : FrameSink
{
    private readonly BlockDevice _device;
    private readonly AlignedBufferPool _pool;
    private readonly ImageMetadata _metadata;
    private readonly Dictionary<int, List<byte[]>> _bitmaps = [];
    private IEnumerator<(long Start, long Length)>? _runs;
    private bool _runsLeft;

    public CompareSink(string path, ImageMetadata metadata, int chunkSize) : base(path)
    {
        _device = BlockDevice.OpenRead(path);
        _pool = new AlignedBufferPool(1, chunkSize, _device.Alignment);
        _metadata = metadata;
    }

    /// <summary>Bytes compared and found equal.</summary>
    public long BytesCompared { get; private set; }

    /// <summary>Collects a used-map frame (called by the image reader before the first data frame). The reader has
    /// checked that it belongs to a partition and continues its map, and that each map ends up as long as the partition's
    /// block count needs; nothing is sized from the metadata's numbers here, only from the bytes the image holds.</summary>
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
        BytesDone += frame.RawLength;
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
            if (!_bitmaps.TryGetValue(partition.Number, out List<byte[]>? pieces))
            {
                sources.Add((start, [(start, partition.SizeBytes)]));
                continue;
            }
            byte[] bitmap = pieces.Count == 1 ? pieces[0] : [.. pieces.SelectMany(p => p)];
            var map = UsedBlockMap.FromBitmap(bitmap, partition.BlockCount, partition.BlockSize);
            var analysis = new FileSystemAnalysis(FileSystemKind.Unknown, null, null, map, partition.Method, []);
            sources.Add((start, analysis.UsedByteRuns(partition.SizeBytes).Select(r => (start + r.Offset, r.Length))));
        }
        return sources.OrderBy(s => s.Start).SelectMany(s => s.Runs);
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
