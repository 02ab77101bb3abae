using System.CommandLine;
using System.Text.Json;
using LiveImager.Engine.Devices;
using Serilog;

namespace LiveImager.Cli;

/// <summary><c>liveimager list [--json]</c>: the disks of this machine, and which are in use and why.</summary>
internal static class ListCommand
{
    private const string None = "-";

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array of disks (see docs/list.md) instead of a table." };
        var command = new Command("list", "List the disks, their partitions, and whether they are in use.") { json };
        command.SetAction(parseResult => Run(new DiskScanner(), parseResult.GetValue(json), Console.Out));
        return command;
    }

    internal static int Run(DiskScanner scanner, bool json, TextWriter output)
    {
        IReadOnlyList<DiskInfo> disks = scanner.Scan();
        foreach (DiskInfo disk in disks)
        {
            Log.Information("Found disk {Disk} {SizeBytes} bytes {Transport} model {Model} serial {Serial} in use {InUse}: {InUseReason}",
                disk.Path, disk.SizeBytes, disk.Transport, disk.Model, disk.Serial, disk.InUse, disk.InUseReason);
        }
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(disks, ListJsonContext.Default.IReadOnlyListDiskInfo));
        }
        else
        {
            WriteTable(disks, output);
        }
        return 0;
    }

    private static void WriteTable(IReadOnlyList<DiskInfo> disks, TextWriter output)
    {
        if (disks.Count == 0)
        {
            output.WriteLine("No disks found.");
            return;
        }
        string[] header = ["DEVICE", "SIZE", "TRANSPORT", "SECTORS", "MODEL", "SERIAL", "STATUS"];
        var rows = new List<string[]>();
        foreach (DiskInfo disk in disks)
        {
            string flags = string.Join(",", new[] { disk.Removable ? "removable" : null, disk.ReadOnly ? "read-only" : null,
                disk.Rotational ? "rotational" : null }.OfType<string>());
            rows.Add([
                disk.Path,
                ByteSize.Format(disk.SizeBytes),
                disk.Transport,
                $"{disk.LogicalSectorSize}/{disk.PhysicalSectorSize}",
                disk.Model ?? None,
                disk.Serial ?? None,
                (disk.InUse ? "IN USE" : "free") + (flags.Length > 0 ? $" ({flags})" : ""),
            ]);
            foreach (DiskPartition partition in disk.Partitions)
            {
                rows.Add([
                    "  " + partition.Path,
                    ByteSize.Format(partition.SizeBytes),
                    $"part {partition.Number}",
                    "",
                    $"starts at {ByteSize.Format(partition.StartBytes)}",
                    "",
                    partition.MountPoint is null ? "" : $"mounted at {partition.MountPoint}",
                ]);
            }
        }
        int[] widths = header.Select((title, column) => rows.Select(row => row[column].Length).Append(title.Length).Max()).ToArray();
        output.WriteLine(FormatRow(header, widths));
        foreach (string[] row in rows)
        {
            output.WriteLine(FormatRow(row, widths));
        }
        var inUse = disks.Where(disk => disk.InUse).ToList();
        if (inUse.Count > 0)
        {
            output.WriteLine();
            foreach (DiskInfo disk in inUse)
            {
                output.WriteLine($"{disk.Path} is in use: {disk.InUseReason}");
            }
        }
    }

    private static string FormatRow(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((cell, column) => cell.PadRight(widths[column]))).TrimEnd();
}
