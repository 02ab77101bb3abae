using System.Text;
using System.Text.Json;
using LiveImager.Engine.Imaging;

namespace LiveImager.Cli;

/// <summary>Draws a job's progress on standard error: a bar with rate and ETA on a terminal, JSON lines with
/// <c>--json-progress</c>, nothing otherwise. Standard output stays free for an image written to "-".</summary>
/// <param name="lines">Plain lines instead of a bar, one per tenth done and per phase: an unattended run's console may be
/// a serial line that a log keeps.</param>
internal sealed class ProgressView(TextWriter error, bool json, bool lines = false)
{
    private const int LineSteps = 10;
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private bool _drawn;
    private string? _linePhase;
    private int _lineStep = -1;

    public void Report(ImagingProgress progress)
    {
        if (json)
        {
            error.WriteLine(ToJson(progress));
        }
        else if (lines)
        {
            int step = (int)(progress.Fraction * LineSteps);
            if (progress.Phase != _linePhase || step > _lineStep)
            {
                _linePhase = progress.Phase;
                _lineStep = step;
                error.WriteLine($"{progress.Phase}: {progress.Fraction * 100:F0}% {ByteSize.Format(progress.BytesDone)} of " +
                    $"{ByteSize.Format(progress.BytesTotal)}, {ByteSize.Format(progress.BytesPerSecond)}/s, {Eta(progress)}");
            }
        }
        else if (_terminal)
        {
            const int width = 30;
            int filled = (int)(progress.Fraction * width);
            string partition = progress.CurrentPartition > 0 ? $" partition {progress.CurrentPartition}" : string.Empty;
            error.Write($"\r{progress.Phase} [{new string('#', filled)}{new string('.', width - filled)}] {progress.Fraction * 100,3:F0}% " +
                $"{ByteSize.Format(progress.BytesDone)} of {ByteSize.Format(progress.BytesTotal)} {ByteSize.Format(progress.BytesPerSecond)}/s {Eta(progress)}{partition}   ");
            _drawn = true;
        }
    }

    private static string Eta(ImagingProgress progress) =>
        progress.Remaining is { } left ? $"ETA {(int)left.TotalMinutes}:{left.Seconds:D2}" : "ETA --:--";

    /// <summary>Ends the bar's line so what follows starts on its own.</summary>
    public void Finish()
    {
        if (_drawn)
        {
            error.WriteLine();
            _drawn = false;
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
            if (progress.Remaining is { } remaining)
            {
                writer.WriteNumber("etaSeconds", Math.Round(remaining.TotalSeconds, 1));
            }
            else
            {
                writer.WriteNull("etaSeconds");
            }
            writer.WriteNumber("partition", progress.CurrentPartition);
            writer.WriteNumber("elapsedSeconds", Math.Round(progress.Elapsed.TotalSeconds, 2));
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
