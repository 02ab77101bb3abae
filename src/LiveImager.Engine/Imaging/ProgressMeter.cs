using System.Diagnostics;

namespace LiveImager.Engine.Imaging;

/// <summary>Turns byte counts into <see cref="ImagingProgress"/> events, at most a few per second, and at once when a
/// restore target changes state.</summary>
/// <param name="targets">The restore targets' figures at the given elapsed time, attached to every report.</param>
internal sealed class ProgressMeter(string phase, long total, Action<ImagingProgress>? report,
    Func<TimeSpan, IReadOnlyList<RestoreTargetProgress>>? targets = null)
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(250);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    // Restore targets finish on threads of their own, and a handler must see one report at a time.
    private readonly Lock _reporting = new();
    private TimeSpan _lastReport = -s_interval;
    private long _done;
    private int _partition;

    public long Done => Interlocked.Read(ref _done);

    /// <summary>A rescue capture's unreadable areas so far (count, bytes), attached to every report.</summary>
    public Func<(int Count, long Bytes)>? BadAreas { get; init; }
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Counts <paramref name="bytes"/> more done; reports when the interval has passed or <paramref name="final"/>.
    /// Called from one thread only, the stage that puts the data in order.</summary>
    public void Add(long bytes, int partition, bool final = false)
    {
        Interlocked.Add(ref _done, bytes);
        _partition = partition;
        if (final || _clock.Elapsed - _lastReport >= s_interval)
        {
            Report();
        }
    }

    /// <summary>Reports where the job stands now, whatever the interval.</summary>
    public void Report()
    {
        if (report is null)
        {
            return;
        }
        lock (_reporting)
        {
            TimeSpan now = _clock.Elapsed;
            _lastReport = now;
            long done = Done;
            double rate = now.TotalSeconds > 0 ? done / now.TotalSeconds : 0;
            TimeSpan? remaining = rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, total - done) / rate) : null;
            (int badAreas, long badBytes) = BadAreas?.Invoke() ?? (0, 0);
            report(new ImagingProgress(phase, done, total, rate, remaining, _partition, now, targets?.Invoke(now), badAreas, badBytes));
        }
    }
}
