using System.CommandLine;
using System.Text.Json;
using LiveImager.Engine.Imaging;
using LiveImager.Formats;

namespace LiveImager.Cli;

/// <summary><c>liveimager inspect DEVICE|FILE [--json] [--sector-size N]</c>: the partition table and, per partition,
/// the filesystem and how much of it a capture would copy.</summary>
internal static class InspectCommand
{
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
            DiskPath.Check(target, DiskRole.Inspected);
        }
        catch (DiskPathException e)
        {
            error.WriteLine($"inspect: {e.Message}");
            return CliErrors.Usage;
        }
        DiskInspection inspection;
        try
        {
            inspection = DiskInspection.Read(target, sectorSizeOption);
        }
        catch (ImagingException e)
        {
            // The only refusal before reading: a --sector-size that the device does not have.
            error.WriteLine($"inspect: {e.Message}");
            return CliErrors.Usage;
        }
        catch (DiskFormatException e)
        {
            error.WriteLine($"inspect: {target}: the partition table cannot be trusted: {e.Message}");
            return CliErrors.Damaged;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"inspect: {target}: {e.Message}");
            return CliErrors.Failed;
        }
        var report = InspectReport.From(target, inspection.Layout);
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

    private static void WriteText(TextWriter output, InspectReport report)
    {
        output.WriteLine($"{report.Device}: {report.Table} partition table, {report.SectorSize}-byte sectors, " +
            $"{ByteSize.Exact(report.DiskBytes)}");
        foreach (string warning in report.Warnings)
        {
            output.WriteLine($"  warning: {warning}");
        }
        if (report.ExtendedPartition is { } extended)
        {
            output.WriteLine($"  extended partition: start {extended.StartBytes}, size {ByteSize.Exact(extended.SizeBytes)}");
        }
        foreach (var p in report.Partitions)
        {
            output.WriteLine();
            string title = p.Number == DiskLayout.WholeDiskNumber ? "Whole disk" : $"Partition {p.Number}";
            output.WriteLine($"{title}: start {p.StartBytes}, size {ByteSize.Exact(p.SizeBytes)}" +
                (p.Type.Length > 0 ? $", type {p.Type}" : string.Empty) + (p.Name is null ? string.Empty : $", name \"{p.Name}\""));
            output.WriteLine($"  filesystem   {p.FileSystem}");
            output.WriteLine($"  label        {p.Label ?? "-"}");
            output.WriteLine($"  uuid         {p.Uuid ?? "-"}");
            output.WriteLine($"  block size   {p.BlockSize}");
            output.WriteLine($"  blocks       {p.TotalBlocks} total, {p.UsedBlocks} used");
            output.WriteLine($"  used bytes   {ByteSize.Exact(p.UsedBytes)}");
            output.WriteLine($"  method       {p.Method}");
            foreach (string warning in p.Warnings)
            {
                output.WriteLine($"  warning      {warning}");
            }
            foreach (var lv in p.LogicalVolumes)
            {
                output.WriteLine($"  lv {lv.Name}: {ByteSize.Exact(lv.SizeBytes)}, {lv.FileSystem}, used {ByteSize.Exact(lv.UsedBytes)}" +
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
                output.WriteLine($"  {region.Kind,-16} start {region.StartBytes}, size {ByteSize.Exact(region.SizeBytes)}");
            }
        }
    }
}
