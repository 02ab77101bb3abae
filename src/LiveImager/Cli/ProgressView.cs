using System.Text;
using System.Text.Json;
using LiveImager.Engine.Imaging;

namespace LiveImager.Cli;

/// <summary>Draws a job's progress on standard error: a bar with rate and ETA on a terminal, below it one line per
/// target when a restore writes several; JSON lines with <c>--json-progress</c>; nothing otherwise. Standard output
/// stays free for an image written to "-".</summary>
/// <param name="lines">Plain lines instead of a bar, one per tenth done and per phase: an unattended run's console may be
/// a serial line that a log keeps.</param>
internal sealed class ProgressView(TextWriter error, bool json, bool lines = false)
{
    private const int BarWidth = 30;
    private const int TargetBarWidth = 20;
    private const int LineSteps = 10;
    private const string ClearToEnd = "\e[K";

    private readonly bool _terminal = !Console.IsErrorRedirected;
    private bool _drawn;
    private int _targetLines;
    private string? _linePhase;
    private int _lineStep = -1;

    public void Report(ImagingProgress progress)
    {
        if (json)
        {
            error.WriteLine(ToJson(progress));
        }
        else if (progress.Step is { } step)
        {
            // A step is a handful of lines in a whole job: written even without a terminal, so a log shows what ran.
            WriteStep(progress.Phase, step);
        }
        else if (lines)
        {
            WriteLine(progress);
        }
        else if (_terminal)
        {
            Draw(progress);
        }
    }

    /// <summary>Ends the bar's lines so what follows starts on its own.</summary>
    public void Finish()
    {
        if (_drawn)
        {
            error.WriteLine();
            _drawn = false;
            _targetLines = 0;
        }
    }

    /// <summary>A step of a job that copies no bytes meanwhile: on a terminal it takes the bar's place until the copy
    /// starts, elsewhere it is a line of its own.</summary>
    private void WriteStep(string phase, string step)
    {
        if (_terminal && !lines)
        {
            error.Write($"\r{Fit($"{phase}: {step}...", TerminalWidth())}{ClearToEnd}");
            _drawn = true;
            return;
        }
        error.WriteLine($"{phase}: {step}...");
        _linePhase = null;
        _lineStep = -1;
    }

    private void WriteLine(ImagingProgress progress)
    {
        int step = (int)(progress.Fraction * LineSteps);
        if (progress.Phase == _linePhase && step <= _lineStep)
        {
            return;
        }
        _linePhase = progress.Phase;
        _lineStep = step;
        string eta = progress.Remaining is { } left ? $"ETA {Eta(left)}" : "ETA --:--";
        error.WriteLine($"{progress.Phase}: {progress.Fraction * 100:F0}% {ByteSize.Format(progress.BytesDone)} of " +
            $"{ByteSize.Format(progress.BytesTotal)}, {ByteSize.Format(progress.BytesPerSecond)}/s, {eta}{BadAreas(progress, ", ")}");
    }

    /// <summary>A rescue capture's unreadable areas, when there are any.</summary>
    private static string BadAreas(ImagingProgress progress, string separator) => progress.BadAreas > 0
        ? $"{separator}{progress.BadAreas} unreadable area{(progress.BadAreas == 1 ? "" : "s")} ({ByteSize.Format(progress.UnreadableBytes)})"
        : string.Empty;

    private void Draw(ImagingProgress progress)
    {
        int width = TerminalWidth();
        var text = new StringBuilder();
        if (_targetLines > 0)
        {
            // Back to the first line, to draw over what the last report drew.
            text.Append($"\e[{_targetLines}A");
        }
        string eta = progress.Remaining is { } left ? $"ETA {Eta(left)}" : "ETA --:--";
        string partition = progress.CurrentPartition > 0 ? $" partition {progress.CurrentPartition}" : string.Empty;
        text.Append('\r').Append(Fit($"{progress.Phase} {Bar(progress.Fraction, BarWidth)} {progress.Fraction * 100,3:F0}% " +
            $"{ByteSize.Format(progress.BytesDone)} of {ByteSize.Format(progress.BytesTotal)} {ByteSize.Format(progress.BytesPerSecond)}/s {eta}{partition}" +
            BadAreas(progress, " "), width))
            .Append(ClearToEnd);
        // One target's figures are the job's: its line is drawn only when a restore writes several.
        IReadOnlyList<RestoreTargetProgress> targets = progress.Targets is { Count: > 1 } several ? several : [];
        foreach (RestoreTargetProgress target in targets)
        {
            text.Append("\n\r").Append(Fit("  " + TargetLine(target), width)).Append(ClearToEnd);
        }
        _targetLines = targets.Count;
        error.Write(text.ToString());
        _drawn = true;
    }

    /// <summary>One target of a restore: its own bar, bytes, rate and ETA while it is written; its state after.</summary>
    private static string TargetLine(RestoreTargetProgress target) => target.State switch
    {
        RestoreTargetState.Failed when target.BytesDone == 0 => $"{target.Target} FAILED: {target.Error}",
        RestoreTargetState.Failed => $"{target.Target} FAILED after {ByteSize.Format(target.BytesDone)}: {target.Error}",
        RestoreTargetState.Writing => $"{target.Target} {Bar(target.Fraction, TargetBarWidth)} {target.Fraction * 100,3:F0}% " +
            $"{ByteSize.Format(target.BytesDone)} {ByteSize.Format(target.BytesPerSecond)}/s " +
            $"ETA {(target.Remaining is { } left ? Eta(left) : "--:--")}",
        RestoreTargetState.Finishing => $"{target.Target} {Bar(1, TargetBarWidth)} 100% {ByteSize.Format(target.BytesDone)} flushing",
        _ => $"{target.Target} {Bar(1, TargetBarWidth)} 100% {ByteSize.Format(target.BytesDone)} {ByteSize.Format(target.BytesPerSecond)}/s done",
    };

    private static string Bar(double fraction, int width)
    {
        int filled = (int)(fraction * width);
        return $"[{new string('#', filled)}{new string('.', width - filled)}]";
    }

    private static string Eta(TimeSpan left) => $"{(int)left.TotalMinutes}:{left.Seconds:D2}";

    /// <summary>A line cut to the terminal's width: a line that wrapped would throw off the redraw over it.</summary>
    private static string Fit(string line, int width) => width > 1 && line.Length >= width ? line[..(width - 1)] : line;

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string ToJson(ImagingProgress progress)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("phase", progress.Phase);
            writer.WriteNumber("bytesDone", progress.BytesDone);
            writer.WriteNumber("bytesTotal", progress.BytesTotal);
            writer.WriteNumber("bytesPerSecond", Math.Round(progress.BytesPerSecond));
            WriteEta(writer, progress.Remaining);
            writer.WriteNumber("partition", progress.CurrentPartition);
            writer.WriteNumber("elapsedSeconds", Math.Round(progress.Elapsed.TotalSeconds, 2));
            if (progress.Step is { } step)
            {
                writer.WriteString("step", step);
            }
            if (progress.BadAreas > 0)
            {
                writer.WriteNumber("badAreas", progress.BadAreas);
                writer.WriteNumber("unreadableBytes", progress.UnreadableBytes);
            }
            if (progress.Targets is { } targets)
            {
                writer.WriteStartArray("targets");
                foreach (RestoreTargetProgress target in targets)
                {
                    writer.WriteStartObject();
                    writer.WriteString("target", target.Target);
                    writer.WriteString("state", StateName(target.State));
                    writer.WriteNumber("bytesDone", target.BytesDone);
                    writer.WriteNumber("bytesTotal", target.BytesTotal);
                    writer.WriteNumber("bytesPerSecond", Math.Round(target.BytesPerSecond));
                    WriteEta(writer, target.Remaining);
                    if (target.Error is { } reason)
                    {
                        writer.WriteString("error", reason);
                    }
                    else
                    {
                        writer.WriteNull("error");
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteEta(Utf8JsonWriter writer, TimeSpan? remaining)
    {
        if (remaining is { } left)
        {
            writer.WriteNumber("etaSeconds", Math.Round(left.TotalSeconds, 1));
        }
        else
        {
            writer.WriteNull("etaSeconds");
        }
    }

    /// <summary>The state as scripts read it: "writing", "finishing", "done" or "failed".</summary>
    private static string StateName(RestoreTargetState state) => state switch
    {
        RestoreTargetState.Writing => "writing",
        RestoreTargetState.Finishing => "finishing",
        RestoreTargetState.Done => "done",
        _ => "failed",
    };
}
