namespace LiveImager.Formats;

/// <summary>On-disk data that cannot be trusted: the one exception type every parser in Formats throws for corrupt input.</summary>
/// <remarks>The message names the structure, the field, the value found and its byte offset, so a technician's log says
/// exactly what was wrong. Callers decide the fallback (usually: copy the whole partition).</remarks>
public sealed class DiskFormatException : Exception
{
    public DiskFormatException(string structure, string field, object? value, long offset, string problem)
        : base($"{structure}: {field} = {value} at byte {offset}: {problem}")
    {
        Structure = structure;
        Field = field;
        Offset = offset;
    }

    public DiskFormatException(string structure, string problem)
        : base($"{structure}: {problem}")
    {
        Structure = structure;
        Field = string.Empty;
        Offset = -1;
    }

    /// <summary>The on-disk structure that failed to parse, such as "GPT header" or "ext4 superblock".</summary>
    public string Structure { get; }

    /// <summary>The field that held the bad value; empty when the problem is not one field.</summary>
    public string Field { get; }

    /// <summary>Byte offset of the bad value from the start of the device or partition; -1 when not known.</summary>
    public long Offset { get; }
}
