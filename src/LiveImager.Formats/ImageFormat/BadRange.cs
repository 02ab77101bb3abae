namespace LiveImager.Formats.ImageFormat;

/// <summary>Disk bytes a rescue capture could not read (image-format.md, capture record): zeros in the image and on a
/// restored disk.</summary>
public readonly record struct BadRange(long Position, long Length)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public long End => Position + Length;

    /// <summary>The ranges sorted by position and joined where they touch or overlap.</summary>
    public static IReadOnlyList<BadRange> Merge(IEnumerable<BadRange> ranges)
    {
        var merged = new List<BadRange>();
        foreach (BadRange range in ranges.OrderBy(r => r.Position))
        {
            if (merged.Count > 0 && range.Position <= merged[^1].End)
            {
                BadRange last = merged[^1];
                merged[^1] = last with { Length = Math.Max(last.End, range.End) - last.Position };
            }
            else
            {
                merged.Add(range);
            }
        }
        return merged;
    }
}
