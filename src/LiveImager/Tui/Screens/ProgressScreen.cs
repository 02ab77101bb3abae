using System.Globalization;
using System.Text;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Tui.Views;
using Serilog;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A running job: bar, bytes, rate, ETA, current partition, elapsed, and for a deployment one row per disk with
/// its own bar, bytes, rate, time left and state; Esc asks whether to cancel; the end becomes a result screen.</summary>
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
    private readonly TextBlock _disks;
    private JobProgress? _latest;
    private int _updatePending;
    private long _startedAt;
    private object? _tick;
    private bool _started;

    /// <summary>For a capture: the same capture in rescue mode, offered when this one stops at an unreadable sector.</summary>
    public Func<Screen>? RescueCapture { get; init; }

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
        _disks = new TextBlock { X = 2, Y = 10, Width = Dim.Fill(2) };
        // Below the disks' rows however many there are; right under the partition line when there are none.
        var hint = new TextBlock { X = 2, Y = Pos.Bottom(_disks), Text = $"Esc asks whether to cancel the {verb}." };
        Add(heading, _bar, _bytes, _timing, _partition, _disks, hint);
    }

    public override string HelpText =>
        $"The {_verb} is running. The bar counts the bytes that are really copied (free space is skipped), so the " +
        "rate can change between partitions. When several disks are written, each has its own row; one that fails is " +
        "dropped with its error and the others go on. Esc asks whether to cancel; nothing is stopped without your answer.";

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
                outcome = new JobOutcome(false, [], JobFailure.Explain(ex) ?? Unexpected(ex), _services.LogPath);
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
        Host.Replace(new ResultScreen(_verb, outcome, elapsed, outcome.UnreadableDisk ? RescueCapture : null));
    }

    /// <summary>A failure the Engine does not explain (a bug): its stack goes to the log, and its message, with any
    /// mount point named by its store's URL, to the screen.</summary>
    private string Unexpected(Exception ex)
    {
        Log.Error(ex, "The {Verb} failed unexpectedly", _verb);
        return $"Unexpected error: {MountedStore.NameStores(ex.Message)}";
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
        // While a step copies nothing (a resize tool runs), the line says what runs instead of a count that stands still.
        _bytes.Text = p.Step is string step
            ? $"{char.ToUpperInvariant(step[0])}{step[1..]}..."
            : string.Create(CultureInfo.InvariantCulture, $"{ByteSize.Format(p.BytesDone)} of {ByteSize.Format(p.BytesTotal)} ({fraction * 100:0}%)");
        _partition.Text = (p.CurrentPartition is string part ? $"Partition: {part}" : "") +
            (p.BadAreas > 0 ? $"{(p.CurrentPartition is null ? "" : "   ")}Unreadable: {p.BadAreas} area{(p.BadAreas == 1 ? "" : "s")}, {ByteSize.Format(p.UnreadableBytes)}" : "");
        // One disk's figures are the job's own; rows are worth their space from two disks on.
        _disks.Text = p.Disks is { Count: > 1 } disks ? DiskRows(disks, _disks.Frame.Width) : "";
        ShowTiming();
    }

    /// <summary>A heading and one row per disk: bar, share, bytes taken, rate, time left, state; under a failed disk
    /// its error on one line (the result screen gives it whole), and a blank line to end.</summary>
    private static string DiskRows(IReadOnlyList<DiskProgress> disks, int width)
    {
        const int barWidth = 16;
        var rows = new StringBuilder();
        rows.Append(CultureInfo.InvariantCulture, $"{"Disk",-8} {"Progress",-barWidth} {"",4} {"Written",9} {"Rate",12} {"Left",6}  State\n");
        foreach (DiskProgress disk in disks)
        {
            double fraction = disk.BytesTotal > 0 ? Math.Clamp((double)disk.BytesDone / disk.BytesTotal, 0, 1) : 0;
            int filled = (int)(fraction * barWidth);
            bool writing = disk.State == RestoreTargetState.Writing;
            string rate = disk.State == RestoreTargetState.Failed || disk.BytesPerSecond <= 0 ? "-" : ByteSize.Rate(disk.BytesPerSecond);
            string left = writing && disk.Remaining is TimeSpan remaining ? ByteSize.Duration(remaining) : "-";
            string state = disk.State switch
            {
                RestoreTargetState.Writing => "writing",
                RestoreTargetState.Finishing => "flushing",
                RestoreTargetState.Done => "done",
                _ => "FAILED",
            };
            rows.Append(CultureInfo.InvariantCulture,
                $"{disk.Disk,-8} {new string('#', filled)}{new string('.', barWidth - filled)} {fraction * 100,3:0}% {ByteSize.Format(disk.BytesDone),9} {rate,12} {left,6}  {state}\n");
            if (disk.State == RestoreTargetState.Failed && disk.Error is string error)
            {
                rows.Append(OneLine($"{"",-8} {error}", width)).Append('\n');
            }
        }
        return rows.Append('\n').ToString();
    }

    /// <summary>Text cut to one line of <paramref name="width"/> columns, marked where it was cut.</summary>
    private static string OneLine(string text, int width) =>
        width <= 3 || text.Length <= width ? text : string.Concat(text.AsSpan(0, width - 3), "...");

    private void ShowTiming()
    {
        TimeSpan elapsed = _services.Clock.GetElapsedTime(_startedAt);
        JobProgress? p = Volatile.Read(ref _latest);
        string rate = p is null ? "-" : ByteSize.Rate(p.BytesPerSecond);
        string eta = p?.Remaining is TimeSpan left ? ByteSize.Duration(left) : "-";
        _timing.Text = $"Rate {rate}   Remaining {eta}   Elapsed {ByteSize.Duration(elapsed)}";
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
