using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Opening;

/// <summary>A byte range of the image's disk served under a name: the whole disk, or one partition.</summary>
public sealed record NbdExport(string Name, long Offset, long Length, string Description)
{
    /// <summary>The name a client gets when it asks for none (proto.md: the default export is the empty name).</summary>
    public const string DiskName = "disk";

    /// <summary>"disk" for the whole disk (also served under the empty name) and "p1", "p2", … for each partition the
    /// metadata lists that lies inside the disk.</summary>
    public static IReadOnlyList<NbdExport> Of(ImageMetadata metadata)
    {
        long size = metadata.Source.SizeBytes;
        var exports = new List<NbdExport> { new(DiskName, 0, size, $"whole disk {metadata.Source.Path} ({size} bytes)") };
        foreach (PartitionInfo partition in metadata.Partitions)
        {
            // Forged metadata could put a partition past the disk: such a partition is not served.
            if (partition.StartBytes >= 0 && partition.SizeBytes > 0 && partition.StartBytes <= size - partition.SizeBytes)
            {
                exports.Add(new NbdExport(PartitionName(partition.Number), partition.StartBytes, partition.SizeBytes,
                    $"partition {partition.Number} ({partition.Filesystem}{(partition.Label is { Length: > 0 } label ? $" \"{label}\"" : string.Empty)})"));
            }
        }
        return exports;
    }

    /// <summary>The export name of partition <paramref name="number"/>: "p1", "p2", ….</summary>
    public static string PartitionName(int number) => $"p{number}";

    /// <summary>The export a client named: "" is the whole disk.</summary>
    public static NbdExport? Find(IReadOnlyList<NbdExport> exports, string name) =>
        exports.FirstOrDefault(e => e.Name == (name.Length == 0 ? DiskName : name));
}
