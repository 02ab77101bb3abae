using LiveImager.Engine.Imaging;

namespace LiveImager.Tui;

/// <summary>A failed job's exception in the words the result screen shows, whoever caught it.</summary>
internal static class JobFailure
{
    /// <summary>The Engine's plain-words explanation as a sentence, a file in a mounted store named by the store's URL
    /// rather than its mount point; null when the Engine does not know the failure (a bug).</summary>
    public static string? Explain(Exception e) => ImagingFailure.Explain(e) is string message ? Sentence(message) : null;

    private static string Sentence(string message) => message.Length == 0 ? message : char.ToUpperInvariant(message[0]) + message[1..];
}
