using System.Diagnostics;

namespace LiveImager.Engine.Imaging;

/// <summary>Where a long imaging job stands: bytes done of total, rate, time left, and the partition being copied.</summary>
/// <param name="Phase">"capture", "restore" or "verify".</param>
/// <param name="CurrentPartition">The partition number the last bytes belonged to; 0 outside partitions.</param>
public sealed record ImagingProgress(string Phase, long BytesDone, long BytesTotal, double BytesPerSecond, TimeSpan? Remaining,
    int CurrentPartition, TimeSpan Elapsed)
{
    public double Fraction => BytesTotal <= 0 ? 1 : Math.Min(1, (double)BytesDone / BytesTotal);
}

/// <summary>Turns byte counts into <see cref="ImagingProgress"/> events, at most a few per second.</summary>
internal sealed class ProgressMeter(string phase, long total, Action<ImagingProgress>? report)
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(250);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastReport = -s_interval;
    private long _done;

    public long Done => _done;
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Counts <paramref name="bytes"/> more done; reports when the interval has passed or <paramref name="final"/>.</summary>
    public void Add(long bytes, int partition, bool final = false)
    {
        _done += bytes;
        TimeSpan now = _clock.Elapsed;
        if (report is null || (!final && now - _lastReport < s_interval))
        {
            return;
        }
        _lastReport = now;
        double rate = now.TotalSeconds > 0 ? _done / now.TotalSeconds : 0;
        TimeSpan? remaining = rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, total - _done) / rate) : null;
        report(new ImagingProgress(phase, _done, total, rate, remaining, partition, now));
    }
}
