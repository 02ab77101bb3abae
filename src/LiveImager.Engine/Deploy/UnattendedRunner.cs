using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LiveImager.Engine.Logging;
using LiveImager.Engine.Targets;
using Serilog;

namespace LiveImager.Engine.Deploy;

/// <summary>Where an unattended run's results went: the results file and log copy, and when the store could not take
/// them, why (they are then in the log directory).</summary>
public sealed record UnattendedReport(UnattendedResult Result, string ResultFile, string? StoreProblem);

/// <summary>Runs the unattended job once per boot and leaves its results file and log copy on the job's store
/// (<c>STORE/liveimager-results/</c>), or in the log directory when the store cannot be reached.</summary>
/// <param name="stateDirectory">Where the marker <c>unattended.done</c> goes: a tmpfs, so a new boot runs again.</param>
/// <param name="logDirectory">The log directory of <see cref="LogSetup"/>: the log copied, and the fallback for results.</param>
public sealed class UnattendedRunner(string stateDirectory, string logDirectory)
{
    /// <summary>The live system's runtime directory.</summary>
    public const string DefaultStateDirectory = "/run/liveimager";

    /// <summary>The results directory inside a store.</summary>
    public const string ResultsDirectoryName = "liveimager-results";

    private const string MarkerName = "unattended.done";

    public string MarkerPath => Path.Combine(stateDirectory, MarkerName);

    /// <summary>Creates the marker; false when it exists, i.e. the job already ran (or started) in this boot.</summary>
    public bool TryClaim(string line)
    {
        PrivateFiles.CreateDirectory(stateDirectory);
        try
        {
            using FileStream marker = PrivateFiles.CreateNew(MarkerPath);
            using var writer = new StreamWriter(marker);
            writer.WriteLine($"{DateTimeOffset.Now:O} {line}");
            return true;
        }
        catch (IOException) when (File.Exists(MarkerPath))
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="execute"/> and writes its results beside the image named
    /// <paramref name="image"/>, mounting the store with <paramref name="storeOptions"/>, as the job did.</summary>
    public UnattendedReport Run(UnattendedConfig config, string image, Func<StoreOptions> storeOptions, Func<UnattendedJobOutcome> execute)
    {
        DateTimeOffset started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        Log.Information("Unattended job started: {Job}", config.Line);
        UnattendedJobOutcome outcome = execute();
        double seconds = clock.Elapsed.TotalSeconds;
        JobFigures? figures = outcome.Figures;
        string stem = $"{started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{HostName()}-{config.Verb}";
        var result = new UnattendedResult(
            config.Line,
            config.Verb,
            outcome.ExitCode,
            outcome.ExitCode == 0,
            outcome.ExitCode == 0 ? null : outcome.Error ?? $"{config.Verb} ended with exit code {outcome.ExitCode}",
            figures?.BytesRead ?? 0,
            figures?.BytesWritten ?? 0,
            figures?.DataBytes ?? 0,
            Math.Round(seconds, 3),
            figures is null ? 0 : Math.Round(figures.DataBytes / 1e6 / Math.Max(seconds, 0.001), 1),
            image,
            figures?.Target,
            Environment.MachineName,
            started,
            DateTimeOffset.Now,
            stem + ".log");
        Log.Information("Unattended job finished: exit code {ExitCode}, {DataBytes} data bytes in {Seconds} s: {Error}",
            result.ExitCode, result.DataBytes, result.Seconds, result.Error);

        string problem;
        try
        {
            if (S3DirectoryOf(image) is { } bucket)
            {
                using S3Store objects = S3Store.Open(bucket, storeOptions());
                return new UnattendedReport(result, Upload(objects, stem, result), null);
            }
            using MountedStore store = MountStoreOf(image, storeOptions);
            string directory = Path.Combine(store.Directory, ResultsDirectoryName);
            return new UnattendedReport(result, Write(directory, stem, result), null);
        }
        catch (Exception e) when (e is StoreException or IOException or UnauthorizedAccessException)
        {
            problem = e.Message;
            Log.Warning("Unattended results could not go to the store of {Image}: {Problem}; writing them to {LogDirectory}",
                image, problem, logDirectory);
        }
        // The log itself is already in the log directory.
        result = result with { Log = Path.GetFileName(LogSetup.CurrentFile(logDirectory, DateTime.Now)) };
        return new UnattendedReport(result, Write(logDirectory, stem, result), problem);
    }

    /// <summary>The directory holding <paramref name="image"/>, mounted the way <see cref="StoreImage"/> mounts it.</summary>
    private static MountedStore MountStoreOf(string image, Func<StoreOptions> options)
    {
        if (image == "-" || Multicast.MulticastAddress.IsUrl(image))
        {
            throw new StoreException(StoreProblem.NotFound, "the image is standard input or output or a multicast session, which has no store");
        }
        StoreLocation location = StoreLocation.IsUrl(image)
            ? StoreLocation.Parse(image).SplitFile().Directory
            : new StoreLocation(StoreKind.Local, Path.GetDirectoryName(Path.GetFullPath(image))!);
        return new StoreMounter(options()).Mount(location);
    }

    /// <summary>The bucket and prefix of an image in an s3:// store, which is never mounted; else null.</summary>
    private static StoreLocation? S3DirectoryOf(string image) =>
        StoreLocation.IsUrl(image) && StoreLocation.Parse(image).SplitFile().Directory is { Kind: StoreKind.S3 } directory ? directory : null;

    /// <summary>Puts the result and a copy of the log as objects under the store's <c>liveimager-results/</c>, as
    /// <see cref="Write"/> puts them in a directory; returns the result's URL.</summary>
    private string Upload(S3Store store, string stem, UnattendedResult result)
    {
        string ResultsKey(string name) => store.Client.KeyOf(ResultsDirectoryName + "/" + name);
        store.Client.Put(ResultsKey(stem + ".json"),
            Encoding.UTF8.GetBytes(JsonSerializer.Serialize(result, UnattendedJsonContext.Default.UnattendedResult) + "\n"));
        string log = LogSetup.CurrentFile(logDirectory, DateTime.Now);
        if (File.Exists(log))
        {
            using var source = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var copy = new MemoryStream();
            source.CopyTo(copy);
            store.Client.Put(ResultsKey(result.Log), copy.ToArray());
        }
        string url = store.UrlOf(ResultsDirectoryName + "/" + stem + ".json");
        Log.Information("Unattended results written to {Url}", url);
        return url;
    }

    /// <summary>Writes the result and a copy of the log into <paramref name="directory"/> (the store's results
    /// directory, or the log directory), each 0600, the directory 0700 and none of them through a link: the store's
    /// server chooses what <c>liveimager-results</c> is.</summary>
    private string Write(string directory, string stem, UnattendedResult result)
    {
        string fullDirectory = Path.GetFullPath(directory);
        // The store's directory or the log directory's parent: made here only when it is the local log directory's.
        PrivateFiles.CreateDirectory(Path.GetDirectoryName(fullDirectory)!);
        using PrivateDirectory results = PrivateFiles.OpenDirectory(Path.GetDirectoryName(fullDirectory)!, Path.GetFileName(fullDirectory));
        string file = Path.Combine(directory, stem + ".json");
        using (FileStream json = results.Create(stem + ".json", replace: true))
        {
            json.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(result, UnattendedJsonContext.Default.UnattendedResult) + "\n"));
        }
        string log = LogSetup.CurrentFile(logDirectory, DateTime.Now);
        if (File.Exists(log) && fullDirectory != Path.GetFullPath(logDirectory))
        {
            // The sink keeps the file open for writing; share it so the copy can read it.
            using var source = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using FileStream copy = results.Create(result.Log, replace: true);
            source.CopyTo(copy);
        }
        Log.Information("Unattended results written to {File}", file);
        return file;
    }

    private static string HostName()
    {
        string name = Environment.MachineName;
        return name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? name : "host";
    }
}
