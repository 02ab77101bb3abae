using LiveImager.Engine.Devices;
using LiveImager.Engine.Logging;

namespace LiveImager.Tui;

/// <summary>What the screens need from the Engine, one seam per concern; a seam left null is shown as "not available in this build".</summary>
internal sealed class TuiServices
{
    /// <summary>The text shown wherever a seam is not connected.</summary>
    public const string NotAvailable = "not available in this build";

    /// <summary>Lists the machine's disks; null until disk discovery is connected.</summary>
    public IDiskSource? Disks { get; init; }

    /// <summary>Runs capture, restore (onto one disk or, for deploy, several) and verify jobs; null until the imaging jobs are connected.</summary>
    public IJobRunner? Jobs { get; init; }

    /// <summary>Reads an image's details from a store; null until the image format is connected.</summary>
    public IImageCatalog? Images { get; init; }

    /// <summary>The file the current session logs to; null when logging is not configured.</summary>
    public string? LogPath { get; init; }

    /// <summary>The clock for image-name dates and elapsed time, so tests can fix it.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Choices remembered while the live system runs, across screens and across a trip to the shell.</summary>
    public TuiSession Session { get; } = new();

    /// <summary>Every seam connected to the Engine: the machine's disks, the imaging jobs, the images of a store, and
    /// today's file of the log Program set up in <paramref name="logDirectory"/>.</summary>
    public static TuiServices ForThisBuild(string logDirectory)
    {
        string logPath = LogSetup.CurrentFile(logDirectory, DateTime.Now);
        return new TuiServices
        {
            Disks = new EngineDiskSource(new DiskScanner()),
            Jobs = new EngineJobRunner(logPath),
            Images = new EngineImageCatalog(),
            LogPath = logPath,
        };
    }
}
