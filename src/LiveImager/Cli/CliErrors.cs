using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary>The imaging verbs' one way of turning a failure into a message and an exit code. The codes are the ones
/// docs/exit-codes.md lists for scripts.</summary>
internal static class CliErrors
{
    /// <summary>The job ran and failed, or was refused (a disk in use, too small, not confirmed).</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong (an unknown option, a missing argument, a disk name that does not exist, a malformed store URL):
    /// nothing was opened, mounted or written. GNU tools use 2 for the same.</summary>
    public const int Usage = 2;

    /// <summary>The image is damaged or not an image.</summary>
    public const int Damaged = 4;

    public const int Cancelled = 130;

    /// <summary>Runs <paramref name="body"/>; prints what went wrong as "VERB: message" (and hands it to an unattended
    /// run's <paramref name="hooks"/>) and returns its exit code.</summary>
    public static int Run(string verb, TextWriter error, Func<int> body, JobHooks? hooks = null)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException)
        {
            error.WriteLine($"{verb}: cancelled");
            hooks?.Fail("cancelled");
            return Cancelled;
        }
        catch (Exception e) when (ImagingFailure.Explain(e) is string message)
        {
            error.WriteLine($"{verb}: {message}");
            hooks?.Fail(message);
            return e is DiskPathException or StoreException { Problem: StoreProblem.BadLocation } ? Usage : ImagingFailure.IsDamagedImage(e) ? Damaged : Failed;
        }
    }
}
