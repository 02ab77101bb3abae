using LiveImager.Engine.Devices;
using LiveImager.Formats;
using LiveImager.Formats.FileSystems;
using Serilog;

namespace LiveImager.Tui;

/// <summary>Disk discovery for the pickers: the Engine's scanner, and for each disk that may be chosen the filesystem
/// and used bytes of its partitions, as a capture would count them.</summary>
internal sealed class EngineDiskSource(DiskScanner scanner) : IDiskSource
{
    private const string Unknown = "?";

    public Task<IReadOnlyList<DiskChoice>> ScanAsync(CancellationToken cancellationToken) => Task.Run(() =>
    {
        var choices = new List<DiskChoice>();
        foreach (DiskInfo disk in scanner.Scan())
        {
            cancellationToken.ThrowIfCancellationRequested();
            choices.Add(ToChoice(disk));
        }
        return (IReadOnlyList<DiskChoice>)choices;
    }, cancellationToken);

    private static DiskChoice ToChoice(DiskInfo disk)
    {
        // A disk in use or the boot medium cannot be chosen, and a mounted filesystem's bitmaps are not settled: not read.
        DiskLayout? layout = disk.InUse || disk.IsBootMedium ? null : TryAnalyze(disk);
        var partitions = disk.Partitions.Select(p =>
        {
            PartitionLayout? analysed = layout?.Partitions.FirstOrDefault(l => l.Partition.Number == p.Number);
            return new PartitionChoice(p.Name, analysed?.Analysis.Kind.ToName() ?? Unknown, p.SizeBytes, analysed?.UsedBytes);
        }).ToList();
        return new DiskChoice(disk.Name, disk.Path, disk.SizeBytes, Trimmed(disk.Model), Trimmed(disk.Serial), disk.Transport, partitions,
            disk.InUse ? disk.InUseReason ?? "in use" : null, disk.IsBootMedium);
    }

    private static DiskLayout? TryAnalyze(DiskInfo disk)
    {
        try
        {
            using var stream = new FileStream(disk.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            return DiskLayout.Analyze(new StreamBlockSource(stream, disk.SizeBytes), disk.LogicalSectorSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DiskFormatException)
        {
            Log.Warning("The partitions of {Disk} could not be analysed for the disk table: {Problem}", disk.Path, e.Message);
            return null;
        }
    }

    private static string Trimmed(string? text) => string.IsNullOrWhiteSpace(text) ? Unknown : text.Trim();
}
