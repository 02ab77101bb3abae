using System.Globalization;

namespace LiveImager.Tui;

/// <summary>Split sizes as typed: 0 for one file, or a count with M or G (binary units, as file-size limits are).</summary>
internal static class SplitSize
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        if (text.Length == 0)
        {
            return true;
        }
        long unit = char.ToUpperInvariant(text[^1]) switch
        {
            'M' => 1L << 20,
            'G' => 1L << 30,
            _ => 1,
        };
        string digits = unit == 1 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count > long.MaxValue / unit)
        {
            return false;
        }
        bytes = count * unit;
        // A split smaller than 1 MiB would make thousands of files; 0 means none.
        return bytes == 0 || bytes >= 1L << 20;
    }

    public static string Format(long bytes) =>
        bytes == 0 ? "0"
        : bytes % (1L << 30) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 30}G")
        : bytes % (1L << 20) == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20}M")
        : bytes.ToString(CultureInfo.InvariantCulture);
}
