using LiveImager.Engine.Imaging;

namespace LiveImager.Cli;

/// <summary>The imaging verbs' one way of turning a failure into a message and an exit code.</summary>
internal static class CliErrors
{
    public const int Failed = 1;
    public const int Damaged = 2;
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
            return ImagingFailure.IsDamagedImage(e) ? Damaged : Failed;
        }
    }
}
