using System.Diagnostics;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Opening;

/// <summary>The file formats an image's disk can be exported to.</summary>
public enum ExportFormat
{
    /// <summary>A sparse raw disk file, written by LiveImager itself.</summary>
    Raw,
    Qcow2,
    Vmdk,
    Vhdx,
}

/// <summary>What to export, to where, in which format.</summary>
public sealed record ExportOptions(string Image, string Output, ExportFormat Format);

/// <summary>An exported disk: its size, the bytes the image held, and what the file takes on its filesystem.</summary>
public sealed record ExportResult(long DiskBytes, long DataBytes, long AllocatedBytes, TimeSpan Elapsed);

/// <summary>Writes the disk an image holds to a file: raw as a sparse file from <see cref="ImageDisk"/> (holes where
/// the image has no data), the other formats by <c>qemu-img convert</c> reading the image's NBD export on a private
/// Unix socket, so that qemu-img is the one writer of those formats. The file is written as OUT.partial and renamed
/// when complete; an existing OUT is never overwritten.</summary>
public sealed class ExportJob(ExportOptions options)
{
    /// <summary>Blocks checked for zeros inside a frame: a file system's block, so an unused block in a used range
    /// stays a hole.</summary>
    private const int HoleBlock = 4096;

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(250);

    public event Action<ImagingProgress>? Progress;

    public ExportResult Run(CancellationToken cancellationToken)
    {
        string output = Path.GetFullPath(options.Output);
        if (File.Exists(output) || Directory.Exists(output))
        {
            throw new ImagingException($"{options.Output} already exists; an export never overwrites a file: remove it or choose another name");
        }
        string partial = output + ".partial";
        using ImageDisk disk = ImageDisk.Open(options.Image);
        Log.Information("Export of {Image} ({Size} bytes) to {Output} as {Format}", options.Image, disk.Size, output, options.Format);
        var clock = Stopwatch.StartNew();
        try
        {
            File.Delete(partial);
            long data = options.Format == ExportFormat.Raw ? WriteRaw(disk, partial, cancellationToken) : Convert(disk, partial, cancellationToken);
            File.Move(partial, output);
            long allocated = AllocatedBytes(output);
            Log.Information("Exported {Image} to {Output}: {Size} bytes, {Allocated} allocated, {Seconds:F1} s", options.Image, output,
                disk.Size, allocated, clock.Elapsed.TotalSeconds);
            return new ExportResult(disk.Size, data, allocated, clock.Elapsed);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>Writes each frame's non-zero blocks at their place in a file of the disk's length: everything else is a hole.</summary>
    private long WriteRaw(ImageDisk disk, string path, CancellationToken cancellationToken)
    {
        var meter = new ProgressMeter("export", disk.Frames.Sum(f => (long)f.RawLength), Progress);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            file.SetLength(disk.Size);
            var raw = new byte[disk.ChunkSize];
            for (int i = 0; i < disk.Frames.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                IndexEntry entry = disk.Frames[i];
                disk.ReadFrame(i, raw);
                WriteNonZero(file, raw.AsSpan(0, entry.RawLength), entry.DiskPosition);
                meter.Add(entry.RawLength, PartitionAt(disk.Metadata, entry.DiskPosition));
            }
            file.Flush(flushToDisk: true);
        }
        meter.Report();
        return meter.Done;
    }

    private static void WriteNonZero(FileStream file, ReadOnlySpan<byte> raw, long position)
    {
        int start = -1;
        for (int block = 0; block <= raw.Length; block += HoleBlock)
        {
            bool zero = block == raw.Length || !raw.Slice(block, Math.Min(HoleBlock, raw.Length - block)).ContainsAnyExcept((byte)0);
            if (!zero && start < 0)
            {
                start = block;
            }
            else if (zero && start >= 0)
            {
                RandomAccess.Write(file.SafeFileHandle, raw[start..Math.Min(block, raw.Length)], position + start);
                start = -1;
            }
        }
    }

    /// <summary>Runs qemu-img convert from the image's NBD export; progress is the share of the disk served so far.</summary>
    private long Convert(ImageDisk disk, string path, CancellationToken cancellationToken)
    {
        string qemuImg = StoreTools.Find("qemu-img")
            ?? throw new ImagingException($"qemu-img is not installed (Debian package qemu-utils); it writes {options.Format.ToString().ToLowerInvariant()} files. A raw export (--format raw) needs nothing else");
        DirectoryInfo scratch = Directory.CreateTempSubdirectory("liveimager-export-");
        try
        {
            using NbdServer server = NbdServer.ListenUnix(disk, Path.Combine(scratch.FullName, "nbd.sock"));
            server.ServeInBackground();
            var info = new ProcessStartInfo(qemuImg)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in (string[])["convert", "-f", "raw", "-O", options.Format.ToString().ToLowerInvariant(),
                server.UriOf(NbdExport.DiskName), path])
            {
                info.ArgumentList.Add(argument);
            }
            StoreTools.Sanitize(info);
            info.Environment["LC_ALL"] = "C";
            var meter = new ProgressMeter("export", disk.Size, Progress);
            using Process process = Process.Start(info) ?? throw new ImagingException($"cannot start {qemuImg}");
            Task<string> standardError = process.StandardError.ReadToEndAsync(CancellationToken.None);
            Task<string> standardOutput = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            long reported = 0;
            while (!process.WaitForExit(s_poll))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                    cancellationToken.ThrowIfCancellationRequested();
                }
                long served = Math.Min(server.BytesServed, disk.Size);
                meter.Add(served - reported, 0);
                reported = served;
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new ImagingException($"qemu-img convert failed (exit code {process.ExitCode}): {(standardError.Result + standardOutput.Result).Trim()}");
            }
            meter.Add(disk.Size - reported, 0, final: true);
            return disk.Frames.Sum(f => (long)f.RawLength);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>Bytes the file takes on its filesystem (512-byte blocks as du counts them).</summary>
    private static long AllocatedBytes(string path)
    {
        var stat = new Mono.Unix.UnixFileInfo(path);
        return stat.BlocksAllocated * 512;
    }

    private static int PartitionAt(ImageMetadata metadata, long position) =>
        metadata.Partitions.FirstOrDefault(p => position >= p.StartBytes && position < p.StartBytes + p.SizeBytes)?.Number ?? 0;
}
