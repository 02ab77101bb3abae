using LiveImager.Engine.Imaging;
using LiveImager.Formats;

namespace LiveImager.Cli;

/// <summary>The imaging verbs' one way of turning a failure into a message and an exit code.</summary>
internal static class CliErrors
{
    public const int Failed = 1;
    public const int Damaged = 2;
    public const int Cancelled = 130;

    /// <summary>Runs <paramref name="body"/>; prints what went wrong as "VERB: message" and returns its exit code.</summary>
    public static int Run(string verb, TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException)
        {
            error.WriteLine($"{verb}: cancelled");
            return Cancelled;
        }
        catch (DiskFormatException e)
        {
            error.WriteLine($"{verb}: the image is damaged or not an image: {e.Message}");
            return Damaged;
        }
        catch (ImagingException e) when (e.InnerException is DiskFormatException)
        {
            error.WriteLine($"{verb}: the image is damaged: {e.Message}");
            return Damaged;
        }
        catch (Exception e) when (e is ImagingException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error.WriteLine($"{verb}: {e.Message}");
            return Failed;
        }
    }
}
