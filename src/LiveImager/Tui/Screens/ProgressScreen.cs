using LiveImager.Tui.Views;
using System.Globalization;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A running job: bar, bytes, rate, ETA, current partition, elapsed; Esc asks whether to cancel; the end becomes a result screen.</summary>
internal sealed class ProgressScreen : Screen
{
    private readonly TuiServices _services;
    private readonly string _verb;
    private readonly Func<IProgress<JobProgress>, CancellationToken, Task<JobOutcome>> _start;
    private readonly CancellationTokenSource _cancel = new();
    private readonly ProgressBar _bar;
    private readonly TextBlock _bytes;
    private readonly TextBlock _timing;
    private readonly TextBlock _partition;
    private JobProgress? _latest;
    private int _updatePending;
    private long _startedAt;
    private object? _tick;
    private bool _started;

    /// <param name="verb">The job's name in sentences: "capture", "restore", "verify".</param>
    public ProgressScreen(TuiServices services, string verb, string what, Func<IProgress<JobProgress>, CancellationToken, Task<JobOutcome>> start)
        : base("Progress")
    {
        _services = services;
        _verb = verb;
        _start = start;
        var heading = new TextBlock { X = 2, Y = 1, Width = Dim.Fill(2), Height = 2, Text = what };
        _bar = new ProgressBar { X = 2, Y = 4, Width = Dim.Fill(2), Height = 1, ProgressBarStyle = ProgressBarStyle.Continuous };
        _bytes = new TextBlock { X = 2, Y = 6, Width = Dim.Fill(2), Text = "Starting..." };
        _timing = new TextBlock { X = 2, Y = 7, Width = Dim.Fill(2) };
        _partition = new TextBlock { X = 2, Y = 8, Width = Dim.Fill(2) };
        var hint = new TextBlock { X = 2, Y = 10, Text = $"Esc asks whether to cancel the {verb}." };
        Add(heading, _bar, _bytes, _timing, _partition, hint);
    }

    public override string HelpText =>
        $"The {_verb} is running. The bar counts the bytes that are really copied (free space is skipped), so the " +
        "rate can change between partitions. Esc asks whether to cancel; nothing is stopped without your answer.";

    /// <summary>The job's cancellation, for tests that check Esc really cancels.</summary>
    public CancellationToken Cancellation => _cancel.Token;

    public override void OnShown()
    {
        SetFocus();
        if (_started)
        {
            return;
        }
        _started = true;
        _startedAt = _services.Clock.GetTimestamp();
        _tick = Host.RunningApp.AddTimeout(TimeSpan.FromSeconds(1), () =>
        {
            ShowTiming();
            return true;
        });
        var progress = new UiProgress(this);
        CancellationToken token = _cancel.Token;
        _ = Task.Run(async () =>
        {
            JobOutcome outcome;
            try
            {
                outcome = await _start(progress, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                outcome = new JobOutcome(false, [], $"The {_verb} was cancelled at your request.", _services.LogPath);
            }
            catch (Exception ex)
            {
                outcome = new JobOutcome(false, [], ex.Message, _services.LogPath);
            }
            Host.RunningApp.Invoke(() => Finish(outcome));
        });
    }

    public override bool OnBack()
    {
        Host.Push(new ConfirmScreen("Cancel", $"Cancel the {_verb}? What was written so far is not usable.", $"cancel the {_verb}", _cancel.Cancel));
        return true;
    }

    private void Finish(JobOutcome outcome)
    {
        StopTicking();
        TimeSpan elapsed = _services.Clock.GetElapsedTime(_startedAt);
        while (Host.Top != this)
        {
            Host.Pop();
        }
        Host.Replace(new ResultScreen(_verb, outcome, elapsed));
    }

    private void Show()
    {
        Interlocked.Exchange(ref _updatePending, 0);
        if (Volatile.Read(ref _latest) is not JobProgress p)
        {
            return;
        }
        double fraction = p.BytesTotal > 0 ? Math.Clamp((double)p.BytesDone / p.BytesTotal, 0, 1) : 0;
        _bar.Fraction = (float)fraction;
        _bytes.Text = string.Create(CultureInfo.InvariantCulture,
            $"{ByteCount.Format(p.BytesDone)} of {ByteCount.Format(p.BytesTotal)} ({fraction * 100:0}%)");
        _partition.Text = p.CurrentPartition is string part ? $"Partition: {part}" : "";
        ShowTiming();
    }

    private void ShowTiming()
    {
        TimeSpan elapsed = _services.Clock.GetElapsedTime(_startedAt);
        JobProgress? p = Volatile.Read(ref _latest);
        string rate = p is null ? "-" : ByteCount.Rate(p.BytesPerSecond);
        string eta = p?.Remaining is TimeSpan left ? ByteCount.Duration(left) : "-";
        _timing.Text = $"Rate {rate}   Remaining {eta}   Elapsed {ByteCount.Duration(elapsed)}";
    }

    private void StopTicking()
    {
        if (_tick is not null)
        {
            Host.RunningApp.RemoveTimeout(_tick);
            _tick = null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            StopTicking();
            _cancel.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Keeps only the latest report and posts at most one redraw at a time, however often the job reports.</summary>
    private sealed class UiProgress(ProgressScreen screen) : IProgress<JobProgress>
    {
        public void Report(JobProgress value)
        {
            Volatile.Write(ref screen._latest, value);
            if (Interlocked.Exchange(ref screen._updatePending, 1) == 0)
            {
                screen.Host.RunningApp.Invoke(screen.Show);
            }
        }
    }
}
