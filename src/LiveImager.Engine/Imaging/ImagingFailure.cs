using LiveImager.Engine.Targets;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>What a failed imaging job's exception means for a person, the same words for the CLI and the TUI.</summary>
public static class ImagingFailure
{
    /// <summary>The failure in plain words, or null when <paramref name="e"/> is not one a job reports (a bug). A file
    /// in a mounted store is named by the store's URL and its path there, not by where it happens to be mounted.</summary>
    public static string? Explain(Exception e) => e switch
    {
        ImagePassphraseException => e.Message,
        DiskFormatException => MountedStore.NameStores($"the image is damaged or not an image: {e.Message}"),
        ImagingException { InnerException: DiskFormatException } => MountedStore.NameStores($"the image is damaged: {e.Message}"),
        ImagingException or IOException or UnauthorizedAccessException or ArgumentException => MountedStore.NameStores(e.Message),
        _ => null,
    };

    /// <summary>True when the failure is a damaged image rather than a refused or failing disk.</summary>
    public static bool IsDamagedImage(Exception e) => e is DiskFormatException or ImagingException { InnerException: DiskFormatException };
}
