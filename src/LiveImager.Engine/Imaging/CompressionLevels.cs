using System.Text;

namespace LiveImager.Engine.Imaging;

/// <summary>The zstd level of each chunk a capture compresses: the one given (<c>--level</c>), or adaptive: the lowest
/// level of its range while every core is compressing, harder while some cores wait on the disk or on the store, as
/// they do behind a 1 GbE share (about 110 MB/s) or a slow disk, where a denser level costs no time.</summary>
/// <remarks>The signal is how many workers are compressing when one starts a chunk, averaged over the last few
/// chunks: fewer than the cores means a core is idle, waiting; more means every core is taken. The level moves one
/// step at a time, at most once per few chunks, so it settles where compression keeps pace with the slower of the
/// disk and the store.</remarks>
internal sealed class CompressionLevels
{
    /// <summary>The default: adaptive from <see cref="AdaptiveLowest"/> to <see cref="AdaptiveHighest"/>.</summary>
    public const int Adaptive = 0;

    /// <summary>zstd level 3, zstd's own default. Measured on make bench's disk (2 GiB, 969 MiB used): level 1 made
    /// 501.3 MB, level 3 481.8 MB, partclone | zstd -3 484.3 MB; so the adaptive range starts at 3, and the capture
    /// skips zstd on chunks that sample as incompressible to stay fast.</summary>
    public const int AdaptiveLowest = 3;

    /// <summary>The most an adaptive capture compresses: past level 6 zstd's per-worker tables grow beyond what a
    /// bounded pipeline should hold on a many-core machine, for a percent or two less image.</summary>
    public const int AdaptiveHighest = 6;

    /// <summary>Chunks between two level changes: enough for the average to see the last change's effect.</summary>
    private const int ChunksPerStep = 4;

    private readonly Lock _lock = new();
    private readonly long[] _chunks = new long[23];
    private readonly int _cores;
    private int _level;
    private int _compressing;
    private double _busy;
    private int _sinceStep;
    private long _stored;

    /// <param name="level">1..22, or <see cref="Adaptive"/>.</param>
    /// <param name="cores">The cores the compressors share.</param>
    public CompressionLevels(int level, int cores)
    {
        if (level != Adaptive && level is < 1 or > 22)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "zstd levels are 1..22, or 0 for adaptive");
        }
        IsAdaptive = level == Adaptive;
        Lowest = IsAdaptive ? AdaptiveLowest : level;
        Highest = IsAdaptive ? AdaptiveHighest : level;
        _level = Lowest;
        _cores = Math.Max(1, cores);
        _busy = _cores;
    }

    public bool IsAdaptive { get; }
    public int Lowest { get; }
    public int Highest { get; }

    /// <summary>The level for the chunk a worker starts compressing now; pair with <see cref="End"/>.</summary>
    public int Begin()
    {
        int busy = Interlocked.Increment(ref _compressing);
        if (!IsAdaptive)
        {
            return _level;
        }
        lock (_lock)
        {
            _busy += (busy - _busy) / 8;
            if (++_sinceStep >= ChunksPerStep)
            {
                if (_busy < _cores - 0.5 && _level < Highest)
                {
                    _level++;
                    _sinceStep = 0;
                }
                else if (_busy > _cores + 0.5 && _level > Lowest)
                {
                    _level--;
                    _sinceStep = 0;
                }
            }
            return _level;
        }
    }

    /// <summary>Ends a chunk compressed at <paramref name="level"/>; <paramref name="stored"/> when zstd did not make it
    /// smaller, or it was not tried because the chunk sampled as incompressible.</summary>
    public void End(int level, bool stored)
    {
        Interlocked.Decrement(ref _compressing);
        Interlocked.Increment(ref _chunks[level]);
        if (stored)
        {
            Interlocked.Increment(ref _stored);
        }
    }

    /// <summary>What was used, for the capture log and <c>info</c>: "zstd level 3: 270 chunks; 90 stored uncompressed"
    /// or, adaptive, "zstd levels 3..6 (adaptive): level 3 200 chunks, level 4 70 chunks; 90 stored uncompressed".</summary>
    public string Describe()
    {
        var text = new StringBuilder(IsAdaptive ? $"zstd levels {Lowest}..{Highest} (adaptive):" : $"zstd level {Lowest}:");
        string separator = " ";
        for (int level = 1; level < _chunks.Length; level++)
        {
            long chunks = Interlocked.Read(ref _chunks[level]);
            if (chunks > 0)
            {
                text.Append(separator).Append(IsAdaptive ? $"level {level} " : string.Empty).Append(chunks).Append(" chunks");
                separator = ", ";
            }
        }
        return text.Append($"; {Interlocked.Read(ref _stored)} stored uncompressed").ToString();
    }
}
