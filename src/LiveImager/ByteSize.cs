using System.Globalization;

namespace LiveImager;

/// <summary>The one way sizes, rates and durations are shown and read in the CLI and the TUI (ARCHITECTURE.md, "Sizes").</summary>
/// <remarks>Shown in decimal units with one decimal place ("500.1 GB"), as disk labels and shops count, with the exact
/// byte count where the numbers decide. Typed as GNU tools take them: "4G" and "4GiB" are binary (4 × 2^30, as
/// <c>split -b 4G</c>), "4GB" is decimal (4 × 10^9).</remarks>
internal static class ByteSize
{
    private static readonly string[] s_units = ["B", "kB", "MB", "GB", "TB", "PB"];

    /// <summary>The smallest split of an image into volumes: a smaller one would make thousands of files.</summary>
    public const long MinimumSplit = 1L << 20;

    /// <summary>"512 B", "1.5 GB".</summary>
    public static string Format(double bytes)
    {
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1000 && unit < s_units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {s_units[unit]}");
    }

    /// <summary>The size and the exact byte count, for messages where the numbers decide.</summary>
    public static string Exact(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{Format(bytes)} ({bytes:N0} bytes)");

    public static string Rate(double bytesPerSecond) => Format(bytesPerSecond) + "/s";

    /// <summary>"04:05" under an hour, "1:02:03" from an hour on.</summary>
    public static string Duration(TimeSpan span) =>
        span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}:{span.Minutes:00}:{span.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes:00}:{span.Seconds:00}");

    /// <summary>Parses a size as typed: a number (decimals allowed) with an optional suffix K, M, G, T (binary; KiB…
    /// too) or kB, MB, GB, TB (decimal), or B for bytes.</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        string trimmed = text.Trim();
        int digits = 0;
        while (digits < trimmed.Length && (char.IsAsciiDigit(trimmed[digits]) || trimmed[digits] == '.'))
        {
            digits++;
        }
        if (digits == 0 || !double.TryParse(trimmed[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
        {
            return false;
        }
        double? multiplier = trimmed[digits..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KIB" => 1L << 10,
            "M" or "MIB" => 1L << 20,
            "G" or "GIB" => 1L << 30,
            "T" or "TIB" => 1L << 40,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "TB" => 1e12,
            _ => null,
        };
        if (multiplier is not { } m || value * m >= long.MaxValue)
        {
            return false;
        }
        bytes = (long)(value * m);
        return true;
    }

    /// <summary>A split size as the capture verb and screen take it: 0 (or nothing) for one file, else at least
    /// <see cref="MinimumSplit"/>.</summary>
    public static bool TryParseSplit(string text, out long bytes)
    {
        if (text.Trim().Length == 0)
        {
            bytes = 0;
            return true;
        }
        return TryParse(text, out bytes) && (bytes == 0 || bytes >= MinimumSplit);
    }

    /// <summary>A size as one would type it back: "4G", "700M", or the byte count.</summary>
    public static string FormatTyped(long bytes) =>
        bytes == 0 ? "0"
        : bytes % (1L << 30) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 30}G")
        : bytes % (1L << 20) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20}M")
        : bytes.ToString(CultureInfo.InvariantCulture);
}
