using System.Globalization;
using System.Text;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Targets;
using Serilog;
using Serilog.Core;
using Serilog.Sinks.File;

namespace LiveImager.Engine.Logging;

/// <summary>The log file a technician reads after the fact: where it goes, and the Serilog logger that writes it.</summary>
/// <remarks>Configured in code (no configuration files or reflection-driven sinks under NativeAOT). Events carry scalar
/// properties only; nothing is destructured.</remarks>
public static class LogSetup
{
    /// <summary>Environment variable that chooses the log directory outside the live system.</summary>
    public const string LogDirectoryVariable = "LIVEIMAGER_LOG_DIR";

    /// <summary>The log directory on the live system.</summary>
    public const string LiveSystemLogDirectory = "/var/log/liveimager";

    /// <summary>The file name pattern; the daily rolling sink puts the date (yyyyMMdd) before the extension.</summary>
    private const string FileNamePattern = "liveimager-.log";

    /// <summary>/var/log/liveimager on the live system (its boot medium is mounted), else $LIVEIMAGER_LOG_DIR, else
    /// ~/.local/state/liveimager (the XDG state directory).</summary>
    public static string ResolveDirectory(string liveMediumMountPoint = DiskScanner.LiveMediumMountPoint)
    {
        if (Directory.Exists(liveMediumMountPoint))
        {
            return LiveSystemLogDirectory;
        }
        string? configured = Environment.GetEnvironmentVariable(LogDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".local", "state", "liveimager");
    }

    /// <summary>The file the logger of <see cref="CreateLogger"/> writes to on <paramref name="day"/> (local time, as
    /// the rolling sink names it).</summary>
    public static string CurrentFile(string directory, DateTime day) =>
        Path.Combine(directory, FileNamePattern.Replace("-.", "-" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + ".", StringComparison.Ordinal));

    /// <summary>A logger writing one file per day in <paramref name="directory"/>, or a silent one when the directory
    /// cannot be created (a read-only home must not stop a technician from imaging).</summary>
    public static Logger CreateLogger(string directory)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .Enrich.WithProperty("ProcessId", Environment.ProcessId);
        try
        {
            PrivateFiles.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return configuration.CreateLogger();
        }
        return configuration
            .WriteTo.File(
                Path.Combine(directory, FileNamePattern),
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 31,
                hooks: new PrivateLogFile(),
                outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] ({ProcessId}) {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
    }
}

/// <summary>Makes each log file the sink opens 0600 before its first line: the log names disks, serials and stores.
/// The binary's umask (<see cref="PrivateFiles.RestrictUmask"/>) already creates it so; this holds for any caller.</summary>
internal sealed class PrivateLogFile : FileLifecycleHooks
{
    public override Stream OnFileOpened(string path, Stream underlyingStream, Encoding encoding)
    {
        PrivateFiles.Restrict(path, underlyingStream);
        return underlyingStream;
    }
}
