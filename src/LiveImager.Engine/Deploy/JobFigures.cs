namespace LiveImager.Engine.Deploy;

/// <summary>What a finished job moved: what a verb reports back to an unattended run.</summary>
/// <param name="DataBytes">The disk's bytes the job read (capture), wrote (restore) or checked (verify): the rate's basis.</param>
/// <param name="Image">The image as the job line named it.</param>
/// <param name="Target">The disk (capture's source, restore's targets, verify's --against), or null.</param>
public sealed record JobFigures(long BytesRead, long BytesWritten, long DataBytes, TimeSpan Elapsed, string Image, string? Target);

/// <summary>How a job ended: its exit code as the CLI gives it, the error a failure printed, and its figures when it
/// ran to its end.</summary>
public sealed record UnattendedJobOutcome(int ExitCode, string? Error, JobFigures? Figures);
