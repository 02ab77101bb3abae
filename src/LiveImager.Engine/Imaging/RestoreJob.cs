using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>What to restore, onto what.</summary>
/// <param name="Image">The image path, "-" for standard input, or a multicast:// session (its stream given to the job).</param>
/// <param name="Targets">Disks or files, each written from the same read of the image.</param>
/// <param name="VerifyFirst">Read and check every frame of a file image before any target is opened.</param>
/// <param name="Passphrase">An encrypted image's passphrase; the caller owns and disposes it.</param>
public sealed record RestoreOptions(string Image, IReadOnlyList<string> Targets, bool Discard = false, bool ZeroUnused = false,
    bool VerifyFirst = false, ImagePassphrase? Passphrase = null);

/// <summary>How one target came out.</summary>
/// <param name="Succeeded">True when the whole image was written and flushed.</param>
/// <param name="Outcome">What happened to the bytes written ("restored", "failed after"), or null when no count belongs
/// in the message.</param>
/// <param name="Detail">What follows: notes on a restored target, or why it failed and what state it is in.</param>
public sealed record RestoreTargetResult(string Target, bool Succeeded, long BytesWritten, string? Outcome, string Detail)
{
    /// <summary>The result with the exact count, as the CLI and the log give it.</summary>
    public string Message => Describe(bytes => $"{bytes} bytes");

    /// <summary>The result with the count spelled by <paramref name="amount"/>: a screen shows sizes, a log the exact count.</summary>
    public string Describe(Func<long, string> amount)
    {
        if (Outcome is null)
        {
            return Detail;
        }
        string separator = Detail.Length == 0 ? string.Empty : Succeeded ? "; " : ": ";
        return $"{Outcome} {amount(BytesWritten)}{separator}{Detail}";
    }
}

/// <summary>How a restore went, target by target.</summary>
/// <param name="BadRanges">The source ranges a rescue capture could not read: written as zeros on every target.</param>
public sealed record RestoreResult(IReadOnlyList<RestoreTargetResult> Targets, long DataBytes, TimeSpan Elapsed, bool Cancelled,
    IReadOnlyList<BadRange>? BadRanges = null)
{
    public bool Succeeded => !Cancelled && Targets.All(t => t.Succeeded);
}

/// <summary>Restores an image onto one or more disks or files: checks the image's header and metadata and every
/// target's size before writing anything, then writes tables and frames in disk order. A target that fails is dropped
/// with its error and the others go on; the image is read no further once every target has failed.</summary>
public sealed class RestoreJob(RestoreOptions options, Func<Stream>? standardInput = null)
{
    /// <summary>Bytes of the disk's start kept from the frames for a GPT relocation: the primary header and the
    /// largest entry array the GPT reader accepts.</summary>
    private const int DiskHeadBytes = 2 * 1024 * 1024;

    /// <summary>Raised a few times a second, and when a target starts or ends its flush, with each target's figures;
    /// one report at a time, from the job's threads; handlers must not block.</summary>
    public event Action<ImagingProgress>? Progress;

    /// <summary>Fires once the image and targets are checked, before the first byte is written.</summary>
    public event Action<ImageMetadata>? Started;

    public RestoreResult Run(CancellationToken cancellationToken)
    {
        using Stream input = ImageInput.Open(options.Image, standardInput);
        using var reader = new ImageReader(input, options.Passphrase);
        ImageMetadata metadata = reader.Metadata;
        IReadOnlyList<BadRange>? badRanges = null;
        using ImageChain? chain = ImageChain.Open(options.Image, reader.Header, metadata);
        if (!ImageInput.IsStream(options.Image))
        {
            // A file is checked whole before any target is opened (invariant 9): the footer, the index, the metadata
            // against the used maps and the data the image holds, and every data frame's header against its index
            // entry and place, so a cut-short copy or a forged number stops the restore here rather than after the
            // first write. --verify-first also decodes every frame.
            using (var whole = new ImageFile(ImageInput.OpenVolumes(options.Image), options.Passphrase))
            {
                whole.CheckDataFrameHeaders(cancellationToken);
                chain?.CheckFrameHeaders(whole, cancellationToken);
                badRanges = whole.Record?.BadRanges;
            }
            if (options.VerifyFirst)
            {
                var verify = new VerifyJob(new VerifyOptions(options.Image, Passphrase: options.Passphrase));
                verify.Progress += p => Progress?.Invoke(p);
                verify.Run(cancellationToken);
            }
        }
        else if (options.VerifyFirst)
        {
            throw new ImagingException("--verify-first needs an image that can be read twice (a file or a store), not standard input");
        }

        var results = new Dictionary<string, RestoreTargetResult>();
        var targets = new List<RestoreTarget>();
        try
        {
            OpenTargets(options, metadata, reader.Header.ChunkSize, targets, results);
            Started?.Invoke(metadata);
            Log.Information("Restore of {Image} (captured {Created} from {Source} model {Model} serial {Serial}) onto {Targets}",
                options.Image, metadata.CreatedUtc, metadata.Source.Path, metadata.Source.Model, metadata.Source.Serial, string.Join(" ", targets.Select(t => t.Name)));

            var head = new byte[Math.Min(DiskHeadBytes, metadata.Source.SizeBytes)];
            TimeSpan? writingEnded = null;
            var meter = new ProgressMeter("restore", metadata.DataBytes, Progress,
                elapsed => TargetsProgress(targets, results, metadata.DataBytes, writingEnded ?? elapsed));
            try
            {
                FrameDecodePipeline.Run(reader, chain, targets, meter, p => PartitionAt(metadata, p),
                    (frame, raw) => KeepHead(frame, raw, head), stopWhenEverySinkFails: true, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Log.Warning("Restore of {Image} cancelled after {Bytes} bytes", options.Image, meter.Done);
                foreach (RestoreTarget target in targets)
                {
                    results[target.Name] = target.BytesWritten == 0 && !options.Discard
                        ? new RestoreTargetResult(target.Name, false, 0, null, $"cancelled before anything was written; {target.Name} is unchanged")
                        : new RestoreTargetResult(target.Name, false, target.BytesWritten, "cancelled after",
                            $"{target.Name} is partly written and does not hold a usable disk; restore again");
                }
                return new RestoreResult(Order(results), meter.Done, meter.Elapsed, Cancelled: true);
            }
            catch (DiskFormatException e)
            {
                Log.Error("Restore of {Image} stopped: {Problem}", options.Image, e.Message);
                throw new ImagingException($"{e.Message}\nThe restore stopped: {string.Join("; ", targets.Select(WrittenState))}", e);
            }
            writingEnded = meter.Elapsed;
            if (targets.All(t => t.Failure is not null))
            {
                Log.Error("Restore of {Image} stopped after {Bytes} bytes: every target failed", options.Image, meter.Done);
            }
            foreach (RestoreTarget target in targets)
            {
                target.State = RestoreTargetState.Finishing;
            }
            meter.Report();
            // Flushing a slow disk can take long; the others need not wait for it.
            Parallel.ForEach(targets, target =>
            {
                RestoreTargetResult result = Finish(target, head);
                lock (results)
                {
                    results[target.Name] = result;
                }
                meter.Report();
            });
            foreach (RestoreTargetResult result in Order(results))
            {
                Log.Information("Restore onto {Target}: {Succeeded}: {Message}", result.Target, result.Succeeded ? "ok" : "FAILED", result.Message);
            }
            Log.Information("Restored {Bytes} bytes in {Seconds:F1} s", meter.Done, meter.Elapsed.TotalSeconds);
            badRanges ??= reader.Record?.BadRanges;
            if (badRanges is { Count: > 0 })
            {
                Log.Warning("Restore of {Image}: {Summary}", options.Image, BadRangeReport.Summary(badRanges, b => $"{b} bytes"));
            }
            return new RestoreResult(Order(results), meter.Done, meter.Elapsed, Cancelled: false, badRanges);
        }
        finally
        {
            foreach (RestoreTarget target in targets)
            {
                target.Dispose();
            }
        }

        IReadOnlyList<RestoreTargetResult> Order(Dictionary<string, RestoreTargetResult> byTarget) =>
            [.. options.Targets.Where(byTarget.ContainsKey).Select(t => byTarget[t])];
    }

    /// <summary>What a target holds after the image failed midway, in true words: a stream can fail after some
    /// bytes were written, and then says exactly how many.</summary>
    private string WrittenState(RestoreTarget target) => target.BytesWritten == 0
        ? options.Discard ? $"nothing was written to {target.Name}, but it was discarded (--discard) before the first frame"
            : $"nothing was written to {target.Name}; it is unchanged"
        : $"{target.BytesWritten} bytes of {target.Name} were written before the damage was found; it is partly written and does not " +
          "hold a usable disk; restore again from a good image";

    /// <summary>Opens each target through <see cref="RestoreTarget.Open"/> into <paramref name="targets"/> (the caller
    /// disposes them), records a refused one in <paramref name="results"/>, discards them on request; throws with every
    /// refusal when none is left. Shared with the Clonezilla restore, so both refuse alike.</summary>
    internal static void OpenTargets(RestoreOptions options, ImageMetadata metadata, int chunkSize, List<RestoreTarget> targets,
        Dictionary<string, RestoreTargetResult> results)
    {
        var scanner = new Devices.DiskScanner();
        foreach (string path in options.Targets)
        {
            try
            {
                targets.Add(RestoreTarget.Open(path, metadata, options.ZeroUnused, chunkSize, scanner));
            }
            catch (Exception e) when (e is ImagingException or IOException)
            {
                results[path] = new RestoreTargetResult(path, false, 0, null, $"refused: {e.Message}");
            }
        }
        if (targets.Count == 0)
        {
            throw new ImagingException(string.Join("\n", results.Values.Select(r => $"{r.Target}: {r.Message}")));
        }
        foreach (RestoreTarget target in targets.Where(_ => options.Discard))
        {
            try
            {
                target.DiscardAll();
            }
            catch (IOException e)
            {
                target.Failure = e;
            }
        }
    }

    /// <summary>Each target's figures in the order given, a refused one with its reason; a target's rate counts the
    /// time it was written, <paramref name="writing"/>, not the flushes after.</summary>
    private IReadOnlyList<RestoreTargetProgress> TargetsProgress(List<RestoreTarget> targets, Dictionary<string, RestoreTargetResult> results,
        long total, TimeSpan writing)
    {
        var progress = new List<RestoreTargetProgress>(options.Targets.Count);
        foreach (string path in options.Targets)
        {
            RestoreTarget? target = targets.Find(t => t.Name == path);
            if (target is null)
            {
                RestoreTargetResult? refused;
                lock (results)
                {
                    results.TryGetValue(path, out refused);
                }
                progress.Add(new RestoreTargetProgress(path, RestoreTargetState.Failed, 0, total, 0, null, refused?.Message));
                continue;
            }
            RestoreTargetState state = target.State;
            long taken = target.BytesTaken;
            double rate = state != RestoreTargetState.Failed && writing.TotalSeconds > 0 ? taken / writing.TotalSeconds : 0;
            TimeSpan? remaining = state switch
            {
                RestoreTargetState.Writing => rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, total - taken) / rate) : null,
                RestoreTargetState.Failed => null,
                _ => TimeSpan.Zero,
            };
            progress.Add(new RestoreTargetProgress(path, state, taken, total, rate, remaining, target.Failure?.Message));
        }
        return progress;
    }

    /// <summary>Finishes a target that took every frame, and says how each one came out; never throws for a target's
    /// own failure, so one disk's error does not hide another's result.</summary>
    internal static RestoreTargetResult Finish(RestoreTarget target, byte[] head)
    {
        if (target.Failure is { } failure)
        {
            return new RestoreTargetResult(target.Name, false, target.BytesWritten, "failed after",
                $"{failure.Message}; {target.Name} is partly written and does not hold a usable disk");
        }
        try
        {
            target.DiskHead = head;
            target.Complete();
            string? warning = target.RereadPartitions();
            string?[] notes = [target.RelocatesGpt ? "GPT backup moved to the end of the disk" : null, warning];
            target.State = RestoreTargetState.Done;
            return new RestoreTargetResult(target.Name, true, target.BytesDone, "restored", string.Join("; ", notes.OfType<string>()));
        }
        catch (Exception e) when (e is IOException or DiskFormatException or ImagingException)
        {
            target.Failure = e;
            return new RestoreTargetResult(target.Name, false, target.BytesDone, null,
                $"failed while finishing: {e.Message}; the data is written but the partition table may not fit the disk");
        }
    }

    private static void KeepHead(in FrameHeader frame, ReadOnlySpan<byte> raw, byte[] head)
    {
        if (frame.Position < head.Length)
        {
            int length = (int)Math.Min(raw.Length, head.Length - frame.Position);
            raw[..length].CopyTo(head.AsSpan((int)frame.Position));
        }
    }

    private static int PartitionAt(ImageMetadata metadata, long position)
    {
        foreach (PartitionInfo partition in metadata.Partitions)
        {
            if (position >= partition.StartBytes && position < partition.StartBytes + partition.SizeBytes)
            {
                return partition.Number;
            }
        }
        return 0;
    }
}
