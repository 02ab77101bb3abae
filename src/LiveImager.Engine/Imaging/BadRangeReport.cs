using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>A rescue capture's unreadable ranges in words, the same for <c>info</c>, <c>restore</c> and <c>verify</c>:
/// where each lies (sector, partition and filesystem) and how much was lost.</summary>
public static class BadRangeReport
{
    /// <summary>One line for the whole map: "2 unreadable ranges, 1.0 MB (1048576 bytes), written as zeros".</summary>
    public static string Summary(IReadOnlyList<BadRange> ranges, Func<long, string> size) =>
        $"{ranges.Count} unreadable range{(ranges.Count == 1 ? "" : "s")} of the source, {size(ranges.Sum(r => r.Length))} " +
        $"({ranges.Sum(r => r.Length)} bytes), zeros in the image";

    /// <summary>One line per range: bytes, sectors, and where it lies on the source disk.</summary>
    public static IEnumerable<string> Lines(ImageMetadata metadata, IReadOnlyList<BadRange> ranges)
    {
        int sector = Math.Max(1, metadata.Source.LogicalSectorSize);
        foreach (BadRange range in ranges)
        {
            long sectors = (range.Length + sector - 1) / sector;
            yield return $"bytes {range.Position}+{range.Length} (sector {range.Position / sector}" +
                $"{(sectors > 1 ? $", {sectors} sectors" : string.Empty)}), {Where(metadata, range.Position)}";
        }
    }

    /// <summary>The partition and filesystem holding <paramref name="position"/>, or the area outside partitions.</summary>
    public static string Where(ImageMetadata metadata, long position)
    {
        foreach (PartitionInfo partition in metadata.Partitions)
        {
            if (position >= partition.StartBytes && position < partition.StartBytes + partition.SizeBytes)
            {
                return $"in partition {partition.Number} ({partition.Filesystem}, byte {position - partition.StartBytes} of the partition)";
            }
        }
        return "outside every partition (the partition table or a boot area)";
    }
}
