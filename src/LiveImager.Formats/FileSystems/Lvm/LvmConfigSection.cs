namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>A section of LVM's configuration syntax (<c>name { key = value ... subsection { } }</c>), as the VG
/// metadata text uses it; the text's top level is an unnamed section.</summary>
public sealed class LvmConfigSection(string name)
{
    private readonly Dictionary<string, LvmConfigValue> _values = new(StringComparer.Ordinal);
    private readonly List<LvmConfigSection> _sections = [];
    private readonly Dictionary<string, LvmConfigSection> _sectionsByName = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    /// <summary>The subsections, in the text's order.</summary>
    public IReadOnlyList<LvmConfigSection> Sections => _sections;

    public IReadOnlyDictionary<string, LvmConfigValue> Values => _values;

    /// <summary>The subsection named <paramref name="name"/>, or null.</summary>
    public LvmConfigSection? Section(string name) => _sectionsByName.GetValueOrDefault(name);

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public LvmConfigValue? Value(string key) => _values.GetValueOrDefault(key);

    /// <summary>The integer <paramref name="key"/> holds, checked to lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long Integer(string key, long min, long max)
    {
        var value = Value(key) ?? throw Missing(key);
        if (value.Number is not { } number)
        {
            throw new DiskFormatException("LVM2 metadata text", $"{Name}/{key}", value, -1, "expected an integer");
        }
        if (number < min || number > max)
        {
            throw new DiskFormatException("LVM2 metadata text", $"{Name}/{key}", number, -1, $"must be {min}..{max}");
        }
        return number;
    }

    /// <summary>The string <paramref name="key"/> holds.</summary>
    public string String(string key)
    {
        var value = Value(key) ?? throw Missing(key);
        return value.Text is { } text && value.Number is null && value.Items is null
            ? text
            : throw new DiskFormatException("LVM2 metadata text", $"{Name}/{key}", value, -1, "expected a string");
    }

    /// <summary>The strings of the array <paramref name="key"/> holds; empty when the key is absent.</summary>
    public IReadOnlyList<string> Strings(string key) =>
        Value(key)?.Items?.Select(i => i.Text ?? string.Empty).ToList() ?? [];

    internal void Add(string key, LvmConfigValue value, int position)
    {
        if (!_values.TryAdd(key, value))
        {
            throw new DiskFormatException("LVM2 metadata text", $"{Name}/{key}", "(repeated)", position, "a key appears twice in one section");
        }
    }

    internal void Add(LvmConfigSection section, int position)
    {
        if (!_sectionsByName.TryAdd(section.Name, section))
        {
            throw new DiskFormatException("LVM2 metadata text", $"{Name}/{section.Name}", "(repeated)", position,
                "a section appears twice in one section");
        }
        _sections.Add(section);
    }

    private DiskFormatException Missing(string key) =>
        new("LVM2 metadata text", $"{Name}/{key}", "(missing)", -1, "a required key is absent");
}
