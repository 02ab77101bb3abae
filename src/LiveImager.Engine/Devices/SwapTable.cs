namespace LiveImager.Engine.Devices;

/// <summary>/proc/swaps: the active swap areas, by the path the kernel prints (e.g. /dev/sda3).</summary>
/// <remarks>Format: a header line, then "Filename Type Size Used Priority" separated by whitespace.</remarks>
internal static class SwapTable
{
    /// <summary>The swap paths in use; empty when the file is missing.</summary>
    public static IReadOnlyList<string> Read(string swapsPath) =>
        File.Exists(swapsPath) ? Parse(File.ReadAllLines(swapsPath)) : [];

    public static IReadOnlyList<string> Parse(IEnumerable<string> lines) =>
        lines.Skip(1)
            .Select(line => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 2)
            .Select(fields => ProcEscapes.Unescape(fields[0]))
            .ToList();
}
