using System.Globalization;
using System.Diagnostics;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Multicast;
using LiveImager.Engine.Opening;
using LiveImager.Formats;

namespace LiveImager.Tui;

/// <summary>The capture, restore and verify jobs of the Engine, as the CLI runs them, on a worker thread; their
/// progress events become <see cref="JobProgress"/> and their results the figures of the result screen.</summary>
internal sealed class EngineJobRunner(string? logPath) : IJobRunner
{
    public Task<JobOutcome> CaptureAsync(CaptureRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        Run(() =>
        {
            var options = new CaptureOptions(request.Source.Path, StoreDirectory.Join(request.StorePath, request.ImageName), request.CompressionLevel,
                request.SplitBytes, Rescue: request.Rescue ? new RescuePolicy() : null, Passphrase: request.Passphrase, Base: request.Base);
            var job = new CaptureJob(options);
            job.Progress += p => progress.Report(ToJobProgress(p));
            CaptureResult result = job.Run(cancellationToken);
            var figures = new List<string>
            {
                $"Read {ByteSize.Format(result.DataBytes)} of {request.Source.Name} ({ByteSize.Format(request.Source.SizeBytes)}; the rest is free space).",
                $"Wrote {ByteSize.Format(result.ImageBytes)} in {result.Frames} frames to {result.Image}.",
                $"Time {Seconds(result.Elapsed)}, {Rate(result.DataBytes, result.Elapsed)}.",
            };
            if (request.Base is { } onBase)
            {
                figures.Add($"Incremental on {onBase}: {ByteSize.Format(result.ReferencedBytes)} unchanged and not stored again; keep {onBase} with it.");
            }
            if (result.BadRanges is { Count: > 0 } bad)
            {
                figures.Add($"Rescue: {BadRangeReport.Summary(bad, b => ByteSize.Format(b))}; liveimager info {result.Image} names them and the files they touch.");
            }
            if (request.VerifyAfter)
            {
                VerifyResult verified = Verify(result.Image, progress, cancellationToken, request.Passphrase);
                figures.Add($"Verified: all {verified.Frames} frames' checksums match ({ByteSize.Format(verified.DataBytes)}, {Seconds(verified.Elapsed)}).");
            }
            return figures;
        });

    public Task<JobOutcome> RestoreAsync(RestoreRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        RunOutcome(() =>
        {
            if (request.Fit)
            {
                return RestoreFit(request, progress, cancellationToken);
            }
            var options = new RestoreOptions(request.Image.Path, [.. request.Targets.Select(t => t.Path)], Passphrase: request.Passphrase);
            Dictionary<string, string> names = request.Targets.ToDictionary(t => t.Path, t => t.Name);
            if (ClonezillaInput.IsClonezillaDirectory(options.Image))
            {
                var clonezilla = new ClonezillaRestoreJob(options);
                clonezilla.Progress += p => progress.Report(ToJobProgress(p, names));
                return RestoreOutcome(clonezilla.Run(cancellationToken), logPath);
            }
            var job = new RestoreJob(options);
            job.Progress += p => progress.Report(ToJobProgress(p, names));
            return RestoreOutcome(job.Run(cancellationToken), logPath);
        });

    /// <summary>A restore onto one smaller disk as <c>restore --fit</c> runs it: planned again on the opened target,
    /// the filesystems shrunk on the image's copy-on-write view (served by this binary's serve verb), the used blocks
    /// copied; the overlay in <see cref="FitRestoreJob.DefaultOverlayDirectory"/>.</summary>
    private JobOutcome RestoreFit(RestoreRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken)
    {
        DiskChoice target = request.Targets.Count == 1 ? request.Targets[0] : throw new ImagingException("a fit restore writes one disk");
        string image = Path.GetFullPath(request.Image.Path);
        string program = Environment.ProcessPath ?? throw new ImagingException("cannot tell where the liveimager binary is, to start its server");
        using FitRestoreJob job = FitRestoreJob.Open(image, target.Path, null, cancellationToken);
        if (job.Plan.Refusal is { } refusal)
        {
            throw new ImagingException($"{FitPlanText.Describe(refusal)}; nothing was written");
        }
        job.Progress += p => progress.Report(ToJobProgress(p));
        FitRestoreResult result = job.Run(socket => [program, "serve", image, "--socket", socket], FitRestoreJob.DefaultOverlayDirectory,
            cancellationToken);
        if (result.Cancelled)
        {
            throw new ImagingException($"The restore was cancelled at your request. {target.Name} is partly written and does not hold a usable disk.");
        }
        return new JobOutcome(true,
        [
            $"{target.Path}: restored with its partitions shrunk to fit: {ByteSize.Format(result.DataBytes)} in {Seconds(result.Elapsed)} " +
            $"({Rate(result.DataBytes, result.Elapsed)}; shrinking took {Seconds(result.ShrinkTime)}).",
            $"The resize tools' overlay held {ByteSize.Format(result.OverlayBytes)} in {FitRestoreJob.DefaultOverlayDirectory}, now removed.",
        ], null, logPath);
    }

    public Task<JobOutcome> VerifyAsync(string imagePath, IProgress<JobProgress> progress, CancellationToken cancellationToken,
        Formats.ImageFormat.ImagePassphrase? passphrase = null) =>
        Run(() =>
        {
            VerifyResult result = Verify(imagePath, progress, cancellationToken, passphrase);
            return
            [
                imagePath,
                $"Intact: all {result.Frames} data frames' checksums match; its structure and footer are sound.",
                $"Checked {ByteSize.Format(result.DataBytes)} in {Seconds(result.Elapsed)}, {Rate(result.DataBytes, result.Elapsed)}.",
            ];
        });

    public Task<OpenedImage> OpenImageAsync(ImageSummary image, CancellationToken cancellationToken,
        Formats.ImageFormat.ImagePassphrase? passphrase = null) => Task.Run(() =>
    {
        // The image's server is this same binary's serve verb, as for `liveimager mount`.
        string program = Environment.ProcessPath ?? throw new ImagingException("cannot tell where the liveimager binary is, to start its server");
        if (Engine.Targets.S3Store.Find(image.Path) is not null)
        {
            // The server is a process of its own and opens the store itself: the secret typed here is not handed to it.
            throw new ImagingException($"an image in an s3:// store is browsed from the Shell: liveimager mount {image.Path} DIR " +
                "(with the secret in LIVEIMAGER_PASSWORD or AWS_SECRET_ACCESS_KEY), then copy the files out of DIR");
        }
        string path = Path.GetFullPath(image.Path);
        (string directory, IReadOnlyList<BrowsedPartition> partitions) = ImageBrowse.Open(path, socket => [program, "serve", path, "--socket", socket], passphrase);
        return new OpenedImage(directory, partitions);
    }, cancellationToken);

    public IReadOnlyList<string> CloseImage(OpenedImage image) => ImageBrowse.Close(image.Directory);

    public Task<JobOutcome> CopyOutAsync(CopyOutRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        RunOutcome(() =>
        {
            string root = request.Partition.MountPoint ?? throw new ImagingException($"partition {request.Partition.Number} is not mounted");
            var job = new CopyOutJob(new CopyOutOptions(root, request.Items, request.Destination));
            job.Progress += p => progress.Report(ToJobProgress(p));
            return CopyOutOutcome(job.Run(cancellationToken), request, logPath);
        });

    public Task<JobOutcome> MulticastSendAsync(MulticastSendRequest request, IProgress<MulticastProgress> progress, CancellationToken cancellationToken) =>
        RunOutcome(() =>
        {
            var options = new MulticastSendOptions(request.ImagePath, new MulticastAddress(request.Interface, request.PortBase),
                request.MinReceivers, request.MaxWait);
            var sender = new MulticastSender(options);
            var peers = new List<MulticastPeer>();
            var clock = new Stopwatch();
            long sent = 0;
            sender.Message += line =>
            {
                lock (peers)
                {
                    switch (line.Event)
                    {
                        case UdpcastEvent.Joined:
                            peers.Add(new MulticastPeer(line.Receiver, line.Address ?? "?", Dropped: false));
                            break;
                        case UdpcastEvent.Started:
                            clock.Start();
                            break;
                        case UdpcastEvent.Progress:
                            sent = Math.Max(sent, line.Bytes);
                            break;
                        case UdpcastEvent.Dropped when peers.FindLastIndex(p => p.Number == line.Receiver && !p.Dropped) is int index and >= 0:
                            peers[index] = peers[index] with { Dropped = true };
                            break;
                    }
                    double rate = clock.Elapsed.TotalSeconds > 0.5 ? sent / clock.Elapsed.TotalSeconds : 0;
                    long total = sender.ImageBytes;
                    TimeSpan? left = rate > 0 && total >= sent ? TimeSpan.FromSeconds((total - sent) / rate) : null;
                    progress.Report(new MulticastProgress([.. peers], clock.IsRunning, sent, total, rate, left));
                }
            };
            MulticastSendResult result = sender.Run(cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            var figures = new List<string> { $"Image {request.ImagePath}, on {options.Address}." };
            figures.AddRange(result.Receivers.Select(r => $"Receiver #{r.Number} {r.Address}: {r.Describe()}."));
            if (result.Problem is string problem)
            {
                throw new ImagingException(problem);
            }
            figures.Add($"{result.Summary(ByteSize.Format)}.");
            figures.Add("Each receiving machine checks every frame and shows its own restore's result.");
            int lost = result.Receivers.Count - result.Finished;
            return lost == 0
                ? new JobOutcome(true, figures, null, logPath)
                : new JobOutcome(false, figures, $"{lost} of {result.Receivers.Count} receivers did not receive the whole image.", logPath)
                {
                    PartlyDone = "not every machine received it",
                };
        });

    public Task<JobOutcome> MulticastReceiveAsync(MulticastReceiveRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        RunOutcome(() =>
        {
            MulticastAddress address = MulticastAddress.Parse(request.Address);
            var options = new RestoreOptions(address.ToString(), [request.Target.Path]);
            using MulticastReceiver receiver = MulticastReceiver.Start(address);
            // A read waiting for the sender does not see the token; ending the stream does.
            using CancellationTokenRegistration stop = cancellationToken.Register(receiver.Cancel);
            var job = new RestoreJob(options, () => receiver);
            job.Progress += p => progress.Report(ToJobProgress(p, new() { [request.Target.Path] = request.Target.Name }));
            RestoreResult result;
            try
            {
                result = job.Run(cancellationToken);
            }
            catch (Exception e) when (e is ImagingException or DiskFormatException && !cancellationToken.IsCancellationRequested)
            {
                throw receiver.Failure(e, options.Targets);
            }
            return RestoreOutcome(result, logPath);
        });

    /// <summary>At most this many left-out items are listed on the result screen; the log names every one.</summary>
    internal const int FailuresShown = 8;

    /// <summary>A copy-out's result as the result screen shows it: what was copied, then each item left out and why.</summary>
    internal static JobOutcome CopyOutOutcome(CopyOutResult result, CopyOutRequest request, string? logPath)
    {
        var figures = new List<string>
        {
            $"Copied {Count(result.Files, "file")} and {Count(result.Directories, "folder")}, {ByteSize.Format(result.Bytes)}, " +
            $"from partition {request.Partition.Number} into {request.Destination}.",
            $"Time {Seconds(result.Elapsed)}, {Rate(result.Bytes, result.Elapsed)}.",
        };
        if (result.Succeeded)
        {
            return new JobOutcome(true, figures, null, logPath);
        }
        figures.Add("Not copied:");
        figures.AddRange(result.Failures.Take(FailuresShown).Select(f => $"  {f.Item}: {f.Reason}"));
        if (result.Failures.Count > FailuresShown)
        {
            figures.Add($"  ... and {result.Failures.Count - FailuresShown} more; the log names each.");
        }
        return new JobOutcome(false, figures, $"{Count(result.Failures.Count, "item")} not copied.", logPath) { PartlyDone = "not everything was copied" };
    }

    private static string Count(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    /// <summary>A restore's result as the result screen shows it: one line per target, a restored one with its size,
    /// time and average rate; throws when nothing was restored, as a failed job does.</summary>
    internal static JobOutcome RestoreOutcome(RestoreResult result, string? logPath)
    {
        string[] targets = [.. result.Targets.Select(t => $"{t.Target}: {ReadableMessage(t, result.Elapsed)}.")];
        if (result.Cancelled)
        {
            throw new ImagingException($"The restore was cancelled at your request. {string.Join(" ", targets)}");
        }
        int failed = result.Targets.Count(t => !t.Succeeded);
        if (failed == result.Targets.Count)
        {
            throw new ImagingException(string.Join("\n", targets));
        }
        // Some targets are restored and some are not: each one's result stays on the screen, and the job counts as failed.
        return failed == 0
            ? new JobOutcome(true, targets, null, logPath)
            : new JobOutcome(false, targets, $"{failed} of {result.Targets.Count} disks failed; the others are restored.", logPath);
    }

    /// <summary>The Engine's result for a target with its count read as a size, and a restored target's time and rate
    /// after it; every target took the same read of the image, so the job's time is each one's.</summary>
    private static string ReadableMessage(RestoreTargetResult target, TimeSpan elapsed) =>
        target.Describe(bytes => target.Succeeded
            ? $"{ByteSize.Format(bytes)} in {Seconds(elapsed)} ({Rate(bytes, elapsed)})"
            : ByteSize.Format(bytes));

    private static VerifyResult Verify(string imagePath, IProgress<JobProgress> progress, CancellationToken cancellationToken,
        Formats.ImageFormat.ImagePassphrase? passphrase = null)
    {
        var job = new VerifyJob(new VerifyOptions(imagePath, Passphrase: passphrase));
        job.Progress += p => progress.Report(ToJobProgress(p));
        return job.Run(cancellationToken);
    }

    /// <summary>Runs a job on a worker thread; a failure the Engine explains becomes the outcome's error, and a
    /// cancellation is left to the progress screen, which asked for it.</summary>
    private Task<JobOutcome> Run(Func<IReadOnlyList<string>> job) => RunOutcome(() => new JobOutcome(true, job(), null, logPath));

    /// <summary>As <see cref="Run"/>, for a job that decides its outcome itself (a restore where some targets failed).</summary>
    private Task<JobOutcome> RunOutcome(Func<JobOutcome> job) => Task.Run(() =>
    {
        try
        {
            return job();
        }
        catch (Exception e) when (e is not OperationCanceledException && JobFailure.Explain(e) is string message)
        {
            return new JobOutcome(false, [], message, logPath, UnreadableDisk: e is UnreadableSectorException);
        }
    });

    /// <param name="names">The target disks' names by path, for a restore's per-disk figures.</param>
    private static JobProgress ToJobProgress(ImagingProgress p, Dictionary<string, string>? names = null) =>
        new(p.BytesDone, p.BytesTotal, p.BytesPerSecond, p.Remaining,
            p.CurrentPartition > 0 ? p.CurrentPartition.ToString(CultureInfo.InvariantCulture) : null,
            p.Targets?.Select(t => new DiskProgress(names?.GetValueOrDefault(t.Target) ?? t.Target, t.State, t.BytesDone, t.BytesTotal,
                t.BytesPerSecond, t.Remaining, t.Error)).ToArray(), p.BadAreas, p.UnreadableBytes, p.Step);

    /// <summary>A job's own time: tenths of a second for short jobs, whose mm:ss would read 00:00.</summary>
    private static string Seconds(TimeSpan elapsed) =>
        elapsed.TotalMinutes < 1 ? string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:0.0} s") : ByteSize.Duration(elapsed);

    private static string Rate(long bytes, TimeSpan elapsed) => ByteSize.Rate(bytes / Math.Max(elapsed.TotalSeconds, 0.001));
}
