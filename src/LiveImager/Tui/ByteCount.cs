using System.Globalization;

namespace LiveImager.Tui;

/// <summary>Sizes and rates as a technician reads them: decimal units like disk labels, one decimal place.</summary>
internal static class ByteCount
{
    private static readonly string[] s_units = ["B", "kB", "MB", "GB", "TB", "PB"];

    public static string Format(long bytes)
    {
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1000 && unit < s_units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {s_units[unit]}");
    }

    /// <summary>The size and the exact byte count, for messages where the numbers decide.</summary>
    public static string Exact(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{Format(bytes)} ({bytes:N0} bytes)");

    public static string Rate(double bytesPerSecond) => Format((long)bytesPerSecond) + "/s";

    public static string Duration(TimeSpan span) =>
        span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}:{span.Minutes:00}:{span.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes:00}:{span.Seconds:00}");
}
