using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LiveImager.Formats;

namespace LiveImager.Cli;

/// <summary><c>liveimager inspect DEVICE|FILE [--json] [--sector-size N]</c>: the partition table and, per partition,
/// the filesystem and how much of it a capture would copy.</summary>
internal static class InspectCommand
{
    private const int DefaultSectorSize = 512;
    private const string SysBlock = "/sys/class/block";

    public static Command Create()
    {
        var target = new Argument<string>("target") { Description = "A block device such as /dev/sdb, or a disk image file" };
        var json = new Option<bool>("--json") { Description = "Print JSON (see docs/inspect.md) instead of text" };
        var sectorSize = new Option<int?>("--sector-size")
        {
            Description = "Logical sector size of an image file: 512 (default) or 4096. A device's is read from sysfs.",
        };
        sectorSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } size && size is not (512 or 4096))
            {
                result.AddError("--sector-size must be 512 or 4096");
            }
        });
        var command = new Command("inspect", "Show a disk's partition table, filesystems and used space (reads only)")
        {
            target, json, sectorSize,
        };
        command.SetAction(parse => Run(parse.GetRequiredValue(target), parse.GetValue(json), parse.GetValue(sectorSize),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string target, bool json, int? sectorSizeOption, TextWriter output, TextWriter error)
    {
        try
        {
            string? deviceName = BlockDeviceName(target);
            int sectorSize = deviceName is null ? sectorSizeOption ?? DefaultSectorSize : DeviceSectorSize(deviceName);
            if (deviceName is not null && sectorSizeOption is { } requested && requested != sectorSize)
            {
                error.WriteLine($"inspect: {target} has {sectorSize}-byte logical sectors; --sector-size {requested} does not apply to a device");
                return 1;
            }
            using var stream = OpenReadOnly(target);
            long length = deviceName is null ? stream.Length : DeviceBytes(deviceName);
            var layout = DiskLayout.Analyze(new StreamBlockSource(stream, length), sectorSize);
            var report = InspectReport.From(target, layout);
            if (json)
            {
                output.WriteLine(JsonSerializer.Serialize(report, InspectJsonContext.Default.InspectReport));
            }
            else
            {
                WriteText(output, report);
            }
            return 0;
        }
        catch (DiskFormatException e)
        {
            error.WriteLine($"inspect: {target}: the partition table cannot be trusted: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"inspect: {target}: {e.Message}");
            return 1;
        }
    }

    /// <summary>Opens the disk for reading. The one place to change when the Engine's BlockDevice takes over.</summary>
    private static FileStream OpenReadOnly(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);

    /// <summary>The kernel's name (sdb, nvme0n1p2, loop0) when <paramref name="path"/> is a block device, else null.</summary>
    private static string? BlockDeviceName(string path)
    {
        var info = new FileInfo(path);
        string resolved = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
        string name = Path.GetFileName(resolved);
        return resolved.StartsWith("/dev/", StringComparison.Ordinal) && Directory.Exists(Path.Combine(SysBlock, name))
            ? name
            : null;
    }

    /// <summary>The logical sector size sysfs reports; a partition's is its disk's (the partition has no queue/).</summary>
    private static int DeviceSectorSize(string name)
    {
        string own = Path.Combine(SysBlock, name, "queue", "logical_block_size");
        string parent = Path.Combine(SysBlock, name, "..", "queue", "logical_block_size");
        return int.Parse(File.ReadAllText(File.Exists(own) ? own : parent).Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>The device's size: sysfs counts 512-byte units whatever the sector size, and a device's stream says 0.</summary>
    private static long DeviceBytes(string name) =>
        long.Parse(File.ReadAllText(Path.Combine(SysBlock, name, "size")).Trim(), CultureInfo.InvariantCulture) * 512;

    private static void WriteText(TextWriter output, InspectReport report)
    {
        output.WriteLine($"{report.Device}: {report.Table} partition table, {report.SectorSize}-byte sectors, " +
            $"{Size(report.DiskBytes)}");
        foreach (string warning in report.Warnings)
        {
            output.WriteLine($"  warning: {warning}");
        }
        if (report.ExtendedPartition is { } extended)
        {
            output.WriteLine($"  extended partition: start {extended.StartBytes}, size {Size(extended.SizeBytes)}");
        }
        foreach (var p in report.Partitions)
        {
            output.WriteLine();
            string title = p.Number == DiskLayout.WholeDiskNumber ? "Whole disk" : $"Partition {p.Number}";
            output.WriteLine($"{title}: start {p.StartBytes}, size {Size(p.SizeBytes)}" +
                (p.Type.Length > 0 ? $", type {p.Type}" : string.Empty) + (p.Name is null ? string.Empty : $", name \"{p.Name}\""));
            output.WriteLine($"  filesystem   {p.FileSystem}");
            output.WriteLine($"  label        {p.Label ?? "-"}");
            output.WriteLine($"  uuid         {p.Uuid ?? "-"}");
            output.WriteLine($"  block size   {p.BlockSize}");
            output.WriteLine($"  blocks       {p.TotalBlocks} total, {p.UsedBlocks} used");
            output.WriteLine($"  used bytes   {Size(p.UsedBytes)}");
            output.WriteLine($"  method       {p.Method}");
            foreach (string warning in p.Warnings)
            {
                output.WriteLine($"  warning      {warning}");
            }
            foreach (var lv in p.LogicalVolumes)
            {
                output.WriteLine($"  lv {lv.Name}: {Size(lv.SizeBytes)}, {lv.FileSystem}, used {Size(lv.UsedBytes)}" +
                    (lv.WholeCopyReason is null ? string.Empty : $", whole copy: {lv.WholeCopyReason}"));
                foreach (string segment in lv.Segments)
                {
                    output.WriteLine($"    {segment}");
                }
            }
        }
        if (report.Regions.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("Outside the partitions:");
            foreach (var region in report.Regions)
            {
                output.WriteLine($"  {region.Kind,-16} start {region.StartBytes}, size {Size(region.SizeBytes)}");
            }
        }
    }

    private static string Size(long bytes) =>
        bytes >= 1 << 20
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes ({bytes / 1048576.0:0.0} MiB)")
            : $"{bytes} bytes";
}
