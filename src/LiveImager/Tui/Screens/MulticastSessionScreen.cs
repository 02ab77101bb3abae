using System.Globalization;
using System.Text;
using LiveImager.Engine.Multicast;
using LiveImager.Tui.Views;
using Serilog;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace LiveImager.Tui.Screens;

/// <summary>A multicast session that runs: while it waits, the command each receiving machine runs and every machine
/// that joined; once the transfer started, the bar, bytes, rate and time left, and each machine dropped. Esc asks
/// whether to stop it; the end becomes a result screen with one line per machine.</summary>
internal sealed class MulticastSessionScreen : Screen
{
    private readonly TuiServices _services;
    private readonly MulticastSendRequest _request;
    private readonly IJobRunner _jobs;
    private readonly CancellationTokenSource _cancel = new();
    private readonly TextBlock _state;
    private readonly ProgressBar _bar;
    private readonly TextBlock _bytes;
    private readonly TextBlock _receivers;
    private MulticastProgress? _latest;
    private int _updatePending;
    private long _startedAt;
    private bool _started;

    public MulticastSessionScreen(TuiServices services, MulticastSendRequest request, IJobRunner jobs)
        : base("Multicast: sending")
    {
        _services = services;
        _request = request;
        _jobs = jobs;
        string address = new MulticastAddress(request.Interface, request.PortBase).ToString();
        string start = (request.MinReceivers, request.MaxWait) switch
        {
            (int n, TimeSpan s) => $"when {n} machines have joined, or {s.TotalSeconds:0} s after the first",
            (int n, null) => $"when {n} machines have joined",
            _ => $"{request.MaxWait?.TotalSeconds:0} s after the first machine joins",
        };
        var heading = new TextBlock
        {
            X = 2, Y = 1, Width = Dim.Fill(2), Height = 4,
            Text = $"Sending {request.ImagePath} on {address}\nStarts {start}.\n" +
                   $"Each machine runs: liveimager restore {address} DISK --yes\n(or M, then 2, in the menu of this stick).",
        };
        _state = new TextBlock { X = 2, Y = 6, Width = Dim.Fill(2), Text = "The image is checked, then the session waits: no machine has joined yet." };
        _bar = new ProgressBar { X = 2, Y = 8, Width = Dim.Fill(2), Height = 1, ProgressBarStyle = ProgressBarStyle.Continuous };
        _bytes = new TextBlock { X = 2, Y = 9, Width = Dim.Fill(2) };
        _receivers = new TextBlock { X = 2, Y = 11, Width = Dim.Fill(2) };
        var hint = new TextBlock { X = 2, Y = Pos.Bottom(_receivers), Text = "Esc asks whether to stop the session." };
        Add(heading, _state, _bar, _bytes, _receivers, hint);
    }

    public override string HelpText =>
        "The session waits for receiving machines, then sends the image once to every machine that joined. A machine " +
        "that stops answering is dropped so the others are not held up; each receiving machine checks every frame and " +
        "shows its own result. Esc asks whether to stop; nothing is stopped without your answer.";

    /// <summary>The session's cancellation, for tests that check Esc really stops it.</summary>
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
        var progress = new UiProgress(this);
        CancellationToken token = _cancel.Token;
        _ = Task.Run(async () =>
        {
            JobOutcome outcome;
            try
            {
                outcome = await _jobs.MulticastSendAsync(_request, progress, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                outcome = new JobOutcome(false, [], "The multicast session was stopped at your request.", _services.LogPath);
            }
            catch (Exception ex)
            {
                Log.Error(ex, "The multicast session failed unexpectedly");
                outcome = new JobOutcome(false, [], JobFailure.Explain(ex) ?? $"Unexpected error: {ex.Message}", _services.LogPath);
            }
            Host.RunningApp.Invoke(() => Finish(outcome));
        });
    }

    public override bool OnBack()
    {
        Host.Push(new ConfirmScreen("Stop", "Stop the multicast session? The receiving machines that have started do not get the whole image.",
            "stop the session", _cancel.Cancel));
        return true;
    }

    private void Finish(JobOutcome outcome)
    {
        TimeSpan elapsed = _services.Clock.GetElapsedTime(_startedAt);
        while (Host.Top != this)
        {
            Host.Pop();
        }
        Host.Replace(new ResultScreen("multicast session", outcome, elapsed));
    }

    private void Show()
    {
        Interlocked.Exchange(ref _updatePending, 0);
        if (Volatile.Read(ref _latest) is not MulticastProgress p)
        {
            return;
        }
        int joined = p.Receivers.Count;
        _state.Text = p.Started
            ? $"Sending to {joined - p.Receivers.Count(r => r.Dropped)} machine{(joined == 1 ? "" : "s")}."
            : $"Waiting for machines: {joined} joined.";
        double fraction = p.BytesTotal > 0 ? Math.Clamp((double)p.BytesSent / p.BytesTotal, 0, 1) : 0;
        _bar.Fraction = (float)fraction;
        _bytes.Text = p.Started
            ? string.Create(CultureInfo.InvariantCulture,
                $"{ByteSize.Format(p.BytesSent)} of {ByteSize.Format(p.BytesTotal)} ({fraction * 100:0}%)   " +
                $"Rate {(p.BytesPerSecond > 0 ? ByteSize.Rate(p.BytesPerSecond) : "-")}   " +
                $"Remaining {(p.Remaining is TimeSpan left ? ByteSize.Duration(left) : "-")}")
            : "";
        var rows = new StringBuilder();
        foreach (MulticastPeer peer in p.Receivers)
        {
            rows.Append(CultureInfo.InvariantCulture, $"#{peer.Number,-4} {peer.Address,-16} {(peer.Dropped ? "DROPPED (stopped answering)" : "joined")}\n");
        }
        _receivers.Text = rows.ToString();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cancel.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Keeps only the latest report and posts at most one redraw at a time, however often udpcast reports.</summary>
    private sealed class UiProgress(MulticastSessionScreen screen) : IProgress<MulticastProgress>
    {
        public void Report(MulticastProgress value)
        {
            Volatile.Write(ref screen._latest, value);
            if (Interlocked.Exchange(ref screen._updatePending, 1) == 0)
            {
                screen.Host.RunningApp.Invoke(screen.Show);
            }
        }
    }
}
