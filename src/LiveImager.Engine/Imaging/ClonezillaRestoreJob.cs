using System.Collections.Concurrent;
using LiveImager.Engine.Devices;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>Restores a Clonezilla image directory onto one or more disks or files through the same
/// <see cref="RestoreTarget"/>s (and so the same <see cref="DiskGuard"/> refusals, size check, GPT relocation and
/// finishing) as our own images.</summary>
/// <remarks>Before any target is opened the directory is read, the table rebuilt and every partition image's partclone
/// header and bitmap checked (<see cref="ClonezillaLayout"/>). Then one thread decodes and checks the streams
/// (<see cref="ClonezillaDiskReader"/>; xz and the like decode in their own process) while another writes each piece to
/// every target, with a bounded number of buffers between them.</remarks>
public sealed class ClonezillaRestoreJob(RestoreOptions options)
{
    private const int Buffers = 8;

    /// <inheritdoc cref="RestoreJob.Progress"/>
    public event Action<ImagingProgress>? Progress;

    /// <inheritdoc cref="RestoreJob.Started"/>
    public event Action<ImageMetadata>? Started;

    public RestoreResult Run(CancellationToken cancellationToken)
    {
        ClonezillaLayout layout = ClonezillaLayout.Read(options.Image);
        ImageMetadata metadata = layout.Metadata;
        var results = new Dictionary<string, RestoreTargetResult>();
        var targets = new List<RestoreTarget>();
        try
        {
            RestoreJob.OpenTargets(options, metadata, ClonezillaDiskReader.ChunkBytes, targets, results);
            Started?.Invoke(metadata);
            Log.Information("Restore of the Clonezilla image {Image} (disk {Disk}, {Table}, partitions {Parts}) onto {Targets}",
                options.Image, layout.Image.Disk, metadata.Table.Kind, string.Join(" ", layout.Image.PartitionDevices), string.Join(" ", targets.Select(t => t.Name)));
            var meter = new ProgressMeter("restore", metadata.DataBytes, Progress);
            try
            {
                Write(layout, targets, meter, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Log.Warning("Restore of {Image} cancelled after {Bytes} bytes", options.Image, meter.Done);
                var cancelled = targets.Select(t => new RestoreTargetResult(t.Name, false, t.BytesDone, "cancelled after",
                    $"{t.Name} is partly written and does not hold a usable disk; restore again")).Concat(results.Values).ToList();
                return new RestoreResult(Order(cancelled), meter.Done, meter.Elapsed, Cancelled: true);
            }
            catch (DiskFormatException e)
            {
                Log.Error("Restore of {Image} stopped: {Problem}", options.Image, e.Message);
                throw new ImagingException($"{e.Message}\nThe restore stopped: {string.Join(", ", targets.Select(t => t.Name))} " +
                    "is partly written and does not hold a usable disk; restore again from a good image", e);
            }
            foreach (RestoreTarget target in targets)
            {
                target.State = RestoreTargetState.Finishing;
            }
            Parallel.ForEach(targets, target =>
            {
                RestoreTargetResult result = RestoreJob.Finish(target, layout.Head);
                lock (results)
                {
                    results[target.Name] = result;
                }
            });
            meter.Add(0, 0, final: true);
            foreach (RestoreTargetResult result in results.Values)
            {
                Log.Information("Restore onto {Target}: {Succeeded}: {Message}", result.Target, result.Succeeded ? "ok" : "FAILED", result.Message);
            }
            return new RestoreResult(Order([.. results.Values]), meter.Done, meter.Elapsed, Cancelled: false);
        }
        finally
        {
            foreach (RestoreTarget target in targets)
            {
                target.Dispose();
            }
        }

        IReadOnlyList<RestoreTargetResult> Order(List<RestoreTargetResult> list) =>
            [.. options.Targets.Select(t => list.FirstOrDefault(r => r.Target == t)).OfType<RestoreTargetResult>()];
    }

    /// <summary>Reads on this thread, writes on another; the first fault of either stops both and is the one thrown.</summary>
    private static void Write(ClonezillaLayout layout, List<RestoreTarget> targets, ProgressMeter meter, CancellationToken cancellationToken)
    {
        using var pool = new AlignedBufferPool(Buffers, ClonezillaDiskReader.ChunkBytes);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var queue = new BlockingCollection<(FrameHeader Frame, AlignedBuffer Buffer)>(Buffers - 2);
        Exception? writerFault = null;
        var writer = new Thread(() =>
        {
            try
            {
                foreach (var (frame, buffer) in queue.GetConsumingEnumerable(stop.Token))
                {
                    using (buffer)
                    {
                        foreach (RestoreTarget target in targets.Where(t => t.Failure is null))
                        {
                            try
                            {
                                target.Write(frame, buffer.Span);
                                target.CountTaken(frame.RawLength);
                            }
                            catch (Exception e) when (e is not OperationCanceledException)
                            {
                                target.Failure ??= e;
                            }
                        }
                    }
                    meter.Add(frame.RawLength, 0);
                    if (targets.All(t => t.Failure is not null))
                    {
                        stop.Cancel();
                    }
                }
            }
            catch (Exception e)
            {
                writerFault = e;
                stop.Cancel();
            }
        })
        { Name = "clonezilla restore writer", IsBackground = true };
        writer.Start();
        uint number = 0;
        try
        {
            ClonezillaDiskReader.Read(layout, pool, (position, length, buffer) =>
            {
                var frame = new FrameHeader(FrameType.Data, FrameEncoding.Raw, number++, 0, position, length, length, 0);
                try
                {
                    queue.Add((frame, buffer), stop.Token);
                }
                catch
                {
                    buffer.Dispose();
                    throw;
                }
            }, stop.Token);
            queue.CompleteAdding();
            writer.Join();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && targets.All(t => t.Failure is not null))
        {
            // Every target failed: their own errors are the results.
            queue.CompleteAdding();
            writer.Join();
        }
        finally
        {
            if (!queue.IsAddingCompleted)
            {
                stop.Cancel();
                queue.CompleteAdding();
                writer.Join();
            }
            while (queue.TryTake(out var left))
            {
                left.Buffer.Dispose();
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (writerFault is not null and not OperationCanceledException)
        {
            throw new ImagingException($"the restore's writer failed: {writerFault.Message}", writerFault);
        }
    }
}
