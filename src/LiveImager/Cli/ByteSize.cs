using System.Globalization;

namespace LiveImager.Cli;

/// <summary>Sizes as people type and read them: "4G", "650M", "1.5 GiB".</summary>
internal static class ByteSize
{
    /// <summary>Parses a count of bytes with an optional binary suffix K, M, G or T (KiB… accepted too).</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        string trimmed = text.Trim().ToUpperInvariant().Replace("IB", string.Empty, StringComparison.Ordinal).TrimEnd('B');
        if (trimmed.Length == 0)
        {
            return false;
        }
        int shift = trimmed[^1] switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        string number = shift == 0 ? trimmed : trimmed[..^1];
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || value <= 0)
        {
            return false;
        }
        double result = value * (1L << shift);
        if (result >= long.MaxValue)
        {
            return false;
        }
        bytes = (long)result;
        return true;
    }

    /// <summary>"1.5 GiB", "512 B".</summary>
    public static string Format(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        int unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes:F0} {units[unit]}" : string.Create(CultureInfo.InvariantCulture, $"{bytes:F1} {units[unit]}");
    }
}
