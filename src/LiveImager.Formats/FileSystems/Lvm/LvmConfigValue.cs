namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>One value of LVM's configuration syntax: a string, an integer, a real number kept as its text, or an
/// array of those.</summary>
public sealed class LvmConfigValue
{
    private LvmConfigValue(string? text, long? number, IReadOnlyList<LvmConfigValue>? items)
    {
        Text = text;
        Number = number;
        Items = items;
    }

    /// <summary>The string, or a real number's text; null for an integer or an array.</summary>
    public string? Text { get; }

    /// <summary>The integer, or null.</summary>
    public long? Number { get; }

    /// <summary>The array's items, or null.</summary>
    public IReadOnlyList<LvmConfigValue>? Items { get; }

    public static LvmConfigValue FromText(string text) => new(text, null, null);

    public static LvmConfigValue FromNumber(long number) => new(null, number, null);

    public static LvmConfigValue FromItems(IReadOnlyList<LvmConfigValue> items) => new(null, null, items);

    public override string ToString() =>
        Number is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : Items is { } items ? $"[{string.Join(", ", items)}]"
        : $"\"{Text}\"";
}
