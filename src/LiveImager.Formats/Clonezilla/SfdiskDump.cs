using System.Globalization;
using System.Text.RegularExpressions;

namespace LiveImager.Formats.Clonezilla;

/// <summary>One partition line of an sfdisk dump: "/dev/sda1 : start= 2048, size= 204800, type=83".</summary>
public sealed record SfdiskPartition(string Device, long StartSector, long Sectors, string? Type);

/// <summary>The parts of an <c>sfdisk --dump</c> (Clonezilla's <c>sda-pt.sf</c>) a restore needs: the label kind, the
/// sector size and each partition's place. The dump itself is handed to sfdisk to write an MBR's EBRs.</summary>
public sealed partial record SfdiskDump(string Label, int SectorSize, long? LastLba, IReadOnlyList<SfdiskPartition> Partitions)
{
    [GeneratedRegex(@"^(?<dev>\S+)\s*:\s*(?<fields>.*)$")]
    private static partial Regex PartitionLine();

    [GeneratedRegex(@"^(?<key>[a-z-]+):\s*(?<value>.*)$")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"(?<key>start|size|type|Id)\s*=\s*(?<value>[^,\s]+)")]
    private static partial Regex Field();

    public static SfdiskDump Parse(string text, string fileName)
    {
        string label = "dos";
        int sectorSize = 512;
        long? lastLba = null;
        var partitions = new List<SfdiskPartition>();
        int lineNumber = 0;
        foreach (string raw in text.Split('\n'))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (HeaderLine().Match(line) is { Success: true } header && !line.Contains('='))
            {
                string value = header.Groups["value"].Value.Trim();
                switch (header.Groups["key"].Value)
                {
                    case "label":
                        label = value;
                        break;
                    case "sector-size":
                        sectorSize = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int size) ? size : -1;
                        break;
                    case "last-lba":
                        lastLba = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long last) ? last
                            : throw Bad(fileName, lineNumber, "last-lba", value);
                        break;
                }
                continue;
            }
            if (PartitionLine().Match(line) is not { Success: true } partition)
            {
                throw Bad(fileName, lineNumber, "line", line);
            }
            if (partitions.Count >= ClonezillaImage.MaxPartitions)
            {
                throw new DiskFormatException(fileName, $"names more than {ClonezillaImage.MaxPartitions} partitions");
            }
            long start = -1, sectors = -1;
            string? type = null;
            foreach (Match field in Field().Matches(partition.Groups["fields"].Value))
            {
                string value = field.Groups["value"].Value;
                switch (field.Groups["key"].Value)
                {
                    case "start":
                        start = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : throw Bad(fileName, lineNumber, "start", value);
                        break;
                    case "size":
                        sectors = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : throw Bad(fileName, lineNumber, "size", value);
                        break;
                    default:
                        type = value;
                        break;
                }
            }
            if (start < 0 || sectors < 0 || start > long.MaxValue / 4096 || sectors > long.MaxValue / 4096 - start)
            {
                throw Bad(fileName, lineNumber, "start/size", partition.Groups["fields"].Value);
            }
            partitions.Add(new SfdiskPartition(partition.Groups["dev"].Value, start, sectors, type));
        }
        if (label is not ("dos" or "gpt"))
        {
            throw new DiskFormatException(fileName, "label", label, 0, "expected dos or gpt");
        }
        if (sectorSize != 512)
        {
            throw new DiskFormatException(fileName, "sector-size", sectorSize, 0, "this LiveImager restores Clonezilla images of 512-byte-sector disks");
        }
        return new SfdiskDump(label, sectorSize, lastLba, partitions);
    }

    /// <summary>The end of the last partition, in bytes.</summary>
    public long EndBytes => Partitions.Select(p => (p.StartSector + p.Sectors) * SectorSize).DefaultIfEmpty(0).Max();

    private static DiskFormatException Bad(string fileName, int line, string field, string value) =>
        new(fileName, field, value, line, "cannot be read as sfdisk's dump (the offset is the line number)");
}
