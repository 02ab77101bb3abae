using System.Diagnostics;
using System.Globalization;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Opening;
using LiveImager.Engine.Targets;
using LiveImager.Formats;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Partitions;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>How a fit restore went.</summary>
/// <param name="DataBytes">Bytes of partitions copied onto the target.</param>
/// <param name="OverlayBytes">The most the overlay held: what the resize tools wrote.</param>
public sealed record FitRestoreResult(long DataBytes, long OverlayBytes, TimeSpan ShrinkTime, TimeSpan Elapsed, bool Cancelled);

/// <summary><c>restore IMAGE TARGET --fit</c> (docs/restore-fit.md): a local image onto one disk smaller than its
/// source. <see cref="Open"/> checks the image and the target and plans the layout (<see cref="FitPlanner"/>);
/// <see cref="Run"/> shrinks each filesystem that must shrink with its own tool on a copy-on-write view of the image
/// (<see cref="ImageMount.OpenOverlay"/>), then writes the table at the new places and each partition's used blocks,
/// read through the same view, and removes the view whatever happens.</summary>
public sealed class FitRestoreJob : IDisposable
{
    private const int CopyBytes = 1 << 20;
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(100);

    private readonly string _image;
    private readonly BlockDevice _target;
    private readonly ImageMetadata _metadata;
    private readonly Stopwatch _clock = new();

    /// <summary>The view's key while <see cref="Run"/> has it open.</summary>
    private string _key = "";

    private FitRestoreJob(string image, BlockDevice target, ImageMetadata metadata, FitPlan plan)
    {
        _image = image;
        _target = target;
        _metadata = metadata;
        Plan = plan;
    }

    /// <summary>The planned layout, or its refusal.</summary>
    public FitPlan Plan { get; }

    /// <summary>The target's size in bytes.</summary>
    public long TargetBytes => _target.Length;

    /// <summary>The target's path.</summary>
    public string Target => _target.Path;

    /// <summary>Raised as partitions are copied, a few times a second at most.</summary>
    public event Action<ImagingProgress>? Progress;

    /// <summary>Opens the image (a local file, checked whole as a restore checks it) and the target (through the same
    /// guards as any restore), and plans the layout. Nothing is written.</summary>
    /// <param name="layout">Sizes by partition number (<c>--layout</c>), or null.</param>
    public static FitRestoreJob Open(string image, string target, IReadOnlyDictionary<int, long>? layout, CancellationToken cancellationToken)
    {
        if (image == "-")
        {
            throw new ImagingException("--fit needs an image file or store, not standard input: the image is opened in place");
        }
        ImageMetadata metadata;
        using (var whole = new ImageFile(ImageInput.OpenVolumes(image)))
        {
            whole.CheckDataFrameHeaders(cancellationToken);
            metadata = whole.Metadata;
        }
        PartitionTableKind table = TableKind(metadata)
            ?? throw new ImagingException("--fit needs a partitioned disk; this image has no partition table to lay out again");
        DiskPath.Check(target, DiskRole.RestoreTarget);
        BlockDevice device = DiskGuard.OpenTarget(target, new DiskScanner());
        try
        {
            if (device.LogicalSectorSize != metadata.Table.SectorSize && device.IsBlockDevice)
            {
                throw new ImagingException($"{target} has {device.LogicalSectorSize}-byte sectors but the image's table was written for " +
                    $"{metadata.Table.SectorSize}-byte sectors");
            }
            FitPlan plan = FitPlanner.Plan(Sources(metadata), table, device.Length, layout);
            return new FitRestoreJob(image, device, metadata, plan);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>The image's partitions as <see cref="FitPlanner"/> sees them, for the job and for a screen that plans before
    /// any target is opened.</summary>
    public static IReadOnlyList<FitSource> Sources(ImageMetadata metadata) =>
        [.. metadata.Partitions.Select(p => new FitSource(p.Number, p.StartBytes, p.SizeBytes, p.Type, p.Filesystem, p.UsedBlocks * p.BlockSize))];

    /// <summary>The table kind <see cref="FitPlanner"/> lays out for the image, or null for an image without a
    /// partition table, which <c>--fit</c> refuses.</summary>
    public static PartitionTableKind? TableKind(ImageMetadata metadata) => metadata.Table.Kind switch
    {
        "gpt" => PartitionTableKind.Gpt,
        "mbr" => PartitionTableKind.Mbr,
        _ => null,
    };

    /// <summary>Where the overlay lives when the caller names no directory: nbdkit's own default (RAM on the live
    /// system).</summary>
    public const string DefaultOverlayDirectory = "/var/tmp";

    /// <summary>Shrinks, then writes the target. <paramref name="serverCommand"/> gives the command line of the image's
    /// NBD server for a socket path; <paramref name="overlayDirectory"/> holds the overlay while it lives.</summary>
    public FitRestoreResult Run(Func<string, IReadOnlyList<string>> serverCommand, string overlayDirectory, CancellationToken cancellationToken)
    {
        if (!Plan.Fits)
        {
            throw new ImagingException("the image does not fit the target; nothing was written");
        }
        _clock.Restart();
        Stopwatch clock = _clock;
        string key = Path.Combine(ImageMount.StateRoot, $"fit-{Environment.ProcessId}-{Guid.NewGuid():N}");
        _key = key;
        long overlayBytes = 0;
        long written = 0;
        TimeSpan shrinkTime = TimeSpan.Zero;
        Log.Information("Fit restore of {Image} onto {Target}: {Plan}", _image, Target, string.Join("; ", Plan.Placements.Select(p =>
            $"p{p.Source.Number} {p.Source.Filesystem} {p.Source.SizeBytes}->{p.NewSizeBytes} bytes at {p.NewStartBytes} ({p.Action})")));
        try
        {
            Step("opening a writable view of the image for the resize tools", 0);
            string view = ImageMount.OpenOverlay(key, serverCommand, overlayDirectory);
            foreach (FitPlacement placement in Plan.Placements.Where(p => p.Action != FitAction.Keep))
            {
                cancellationToken.ThrowIfCancellationRequested();
                Shrink(view, placement, cancellationToken);
                overlayBytes = Math.Max(overlayBytes, ImageMount.OverlayBytes(key));
            }
            shrinkTime = clock.Elapsed;
            Log.Information("Fit restore of {Image}: filesystems shrunk in {Seconds:F1} s, overlay {Bytes} bytes", _image,
                shrinkTime.TotalSeconds, overlayBytes);
            written = Write(view, clock, cancellationToken);
            overlayBytes = Math.Max(overlayBytes, ImageMount.OverlayBytes(key));
            Log.Information("Fit restore onto {Target}: {Bytes} bytes in {Seconds:F1} s", Target, written, clock.Elapsed.TotalSeconds);
            return new FitRestoreResult(written, overlayBytes, shrinkTime, clock.Elapsed, Cancelled: false);
        }
        catch (OperationCanceledException)
        {
            Log.Warning("Fit restore of {Image} onto {Target} cancelled after {Bytes} bytes", _image, Target, written);
            return new FitRestoreResult(written, overlayBytes, shrinkTime, clock.Elapsed, Cancelled: true);
        }
        finally
        {
            IReadOnlyList<string> left = ImageMount.Unmount(key);
            if (left.Count > 0)
            {
                Log.Error("Fit restore: the view of {Image} could not be removed: {Left}", _image, string.Join("; ", left));
            }
        }
    }

    /// <summary>Reports what the job does while no bytes are copied, so a progress display shows it instead of a bar
    /// that stands still.</summary>
    private void Step(string step, int partition)
    {
        Log.Information("Fit restore: {Step}", step);
        Progress?.Invoke(new ImagingProgress("restore", 0, 0, 0, null, partition, _clock.Elapsed, Step: step));
    }

    /// <summary>Runs the filesystem's own tool on a loop device over the partition in the view, at its new size.</summary>
    private void Shrink(string view, FitPlacement placement, CancellationToken cancellationToken)
    {
        FitSource source = placement.Source;
        PartitionInfo partition = _metadata.Partitions.First(p => p.Number == source.Number);
        string newSize = placement.NewSizeBytes.ToString(CultureInfo.InvariantCulture);
        string device = ImageMount.AttachLoop(view, source.StartBytes, source.SizeBytes);
        try
        {
            switch (source.Filesystem)
            {
                case "ext2" or "ext3" or "ext4":
                    // resize2fs refuses a filesystem not checked since its last mount; e2fsck exits 1 when it fixed something.
                    Step($"checking partition {source.Number} ({source.Filesystem}) with e2fsck", source.Number);
                    RunTool("e2fsck", ["-f", "-y", device], [0, 1], cancellationToken);
                    Step($"shrinking partition {source.Number} ({source.Filesystem}) with resize2fs", source.Number);
                    RunTool("resize2fs", [device, $"{placement.NewSizeBytes / 1024}K"], [0], cancellationToken);
                    break;
                case "btrfs":
                    // btrfs shrinks only mounted: the kernel moves the block groups past the new end, then the device
                    // size in the superblock is the new one.
                    string mountPoint = ImageMount.MountForResize(_key, device, "btrfs");
                    try
                    {
                        Step($"shrinking partition {source.Number} (btrfs) with btrfs filesystem resize", source.Number);
                        RunTool("btrfs", ["filesystem", "resize", newSize, mountPoint], [0], cancellationToken);
                    }
                    finally
                    {
                        ImageMount.UnmountForResize(mountPoint);
                    }
                    break;
                case "ntfs":
                    Step($"shrinking partition {source.Number} (ntfs) with ntfsresize", source.Number);
                    RunTool("ntfsresize", ["--force", "--force", "--size", newSize, device], [0], cancellationToken);
                    break;
                case "swap":
                    ImageMount.DetachLoop(device);
                    device = ImageMount.AttachLoop(view, source.StartBytes, placement.NewSizeBytes);
                    List<string> arguments = ["-f"];
                    if (partition.Uuid is { Length: > 0 } uuid)
                    {
                        arguments.AddRange(["-U", uuid]);
                    }
                    if (partition.Label is { Length: > 0 } label)
                    {
                        arguments.AddRange(["-L", label]);
                    }
                    Step($"making swap partition {source.Number} again with mkswap", source.Number);
                    RunTool("mkswap", [.. arguments, device], [0], cancellationToken);
                    break;
                default:
                    throw new ImagingException($"partition {source.Number} ({source.Filesystem}) cannot be shrunk: {FitPlanner.WhyKept(source)}");
            }
        }
        finally
        {
            ImageMount.DetachLoop(device);
        }
    }

    /// <summary>The boot area before the first partition, every partition's used blocks at its new place (read through
    /// the view, mapped again by <see cref="FileSystemDetector"/> since a shrunk filesystem moved its blocks), then the
    /// new table; returns the bytes copied.</summary>
    private long Write(string view, Stopwatch clock, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(view, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0);
        var disk = new StreamBlockSource(stream, _metadata.Source.SizeBytes);
        var buffer = new byte[CopyBytes];
        long first = Plan.Placements.Min(p => p.Source.StartBytes);
        // The maps are bounded bitmaps; their runs are walked as they are copied, never held in a list, so memory stays
        // bounded however fragmented a filesystem is.
        var partitions = new List<(FitPlacement Placement, FileSystemAnalysis Analysis)>();
        long total = first;
        foreach (FitPlacement placement in Plan.Placements)
        {
            Step($"mapping the used blocks of partition {placement.Source.Number}", placement.Source.Number);
            FileSystemAnalysis analysis = FileSystemDetector.Analyze(disk.Slice(placement.Source.StartBytes, placement.NewSizeBytes));
            partitions.Add((placement, analysis));
            total += analysis.UsedByteRuns(placement.NewSizeBytes).Sum(r => r.Length);
            Log.Information("Fit restore: partition {Number}: {Method}, {Bytes} bytes used", placement.Source.Number, analysis.Method,
                analysis.Map.UsedBytes);
        }
        var meter = new ProgressMeter("restore", total, Progress, _ => []);
        Copy(disk, 0, 0, first, 0, buffer, meter, cancellationToken);
        foreach ((FitPlacement placement, FileSystemAnalysis analysis) in partitions)
        {
            foreach ((long offset, long length) in analysis.UsedByteRuns(placement.NewSizeBytes))
            {
                Copy(disk, placement.Source.StartBytes + offset, placement.NewStartBytes + offset, length, placement.Source.Number, buffer,
                    meter, cancellationToken);
            }
        }
        WriteTable(disk);
        _target.Flush();
        if (_target.IsBlockDevice)
        {
            try
            {
                _target.RereadPartitions();
            }
            catch (DeviceException e)
            {
                Log.Warning("Fit restore onto {Target}: the kernel did not re-read the partition table ({Problem}); replug the disk or run partprobe",
                    Target, e.Message);
            }
        }
        meter.Add(0, 0, final: true);
        return total;
    }

    /// <summary>Copies <paramref name="length"/> bytes from the view at <paramref name="from"/> to the target at
    /// <paramref name="to"/>, a buffer at a time.</summary>
    private void Copy(IBlockSource disk, long from, long to, long length, int partition, byte[] buffer, ProgressMeter meter,
        CancellationToken cancellationToken)
    {
        for (long done = 0; done < length; done += buffer.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = (int)Math.Min(buffer.Length, length - done);
            disk.ReadAt(from + done, buffer.AsSpan(0, count));
            _target.WriteAt(to + done, buffer.AsSpan(0, count));
            meter.Add(count, partition);
        }
    }

    /// <summary>The partition table at the new places: GPT with its backup at the target's end, MBR with its primary
    /// records and the chain of EBRs before the logical partitions.</summary>
    private void WriteTable(IBlockSource disk)
    {
        int sector = _metadata.Table.SectorSize;
        if (_metadata.Table.Kind == "gpt")
        {
            var header = new byte[sector];
            disk.ReadAt(sector, header);
            GptHeader parsed = GptHeader.Parse(header);
            // Bounded before the read: the array lies between the header and the first partition, at most the largest
            // array the reader accepts; GptFit then checks the header and the array's CRC.
            long arrayStart = (long)Math.Min(parsed.PartitionEntryLba, (ulong)(long.MaxValue / sector / 2)) * sector;
            long arrayBytes = (long)parsed.NumberOfPartitionEntries * parsed.SizeOfPartitionEntry;
            long firstPartition = Plan.Placements.Min(p => p.Source.StartBytes);
            if (arrayStart < 2 * sector || arrayBytes <= 0 || arrayBytes > GptHeader.MaxEntryArrayBytes || arrayStart + arrayBytes > firstPartition)
            {
                throw new DiskFormatException("GPT header", "PartitionEntryLBA", parsed.PartitionEntryLba, sector + 0x48,
                    $"the entry array of {arrayBytes} bytes does not lie between the header and the first partition");
            }
            var entries = new byte[arrayBytes];
            disk.ReadAt(arrayStart, entries);
            GptRelocation gpt = GptFit.Create(header, entries, Plan.Placements, _target.Length / sector);
            var mbr = new byte[sector];
            disk.ReadAt(0, mbr);
            gpt.UpdateProtectiveMbr(mbr);
            _target.WriteAt(0, mbr);
            _target.WriteAt(sector, gpt.PrimaryHeader);
            _target.WriteAt(arrayStart, gpt.BackupEntries);
            _target.WriteAt(gpt.BackupEntriesLba * sector, gpt.BackupEntries);
            _target.WriteAt(gpt.BackupHeaderLba * sector, gpt.BackupHeader);
            return;
        }
        foreach ((long offset, byte[] bytes) in MbrFit.Create(disk, sector, Plan.Placements))
        {
            _target.WriteAt(offset, bytes);
        }
    }

    /// <summary>Runs a tool to its end, killing it when the job is cancelled; its output goes to the log, and into the
    /// error when its exit code is not one of <paramref name="success"/>.</summary>
    private static void RunTool(string tool, IReadOnlyList<string> arguments, int[] success, CancellationToken cancellationToken)
    {
        string program = StoreTools.Find(tool) ?? throw new ImagingException($"{tool} is not installed; --fit shrinks with it");
        ProcessStartInfo info = StoreTools.PipedStart(program, arguments);
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(info) ?? throw new ImagingException($"cannot start {program}");
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        while (!process.WaitForExit(s_poll))
        {
            if (cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        process.WaitForExit();
        string text = (error.Result + output.Result).Trim();
        Log.Information("Fit restore: {Tool} {Arguments}: exit {Code} after {Seconds:F1} s: {Output}", tool, string.Join(' ', arguments),
            process.ExitCode, clock.Elapsed.TotalSeconds, text);
        if (!success.Contains(process.ExitCode))
        {
            string last = string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3).Select(l => l.Trim()));
            throw new ImagingException($"{tool} failed (exit code {process.ExitCode}): {last}; nothing was written to the target");
        }
    }

    public void Dispose() => _target.Dispose();
}
