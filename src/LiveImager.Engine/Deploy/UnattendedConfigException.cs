namespace LiveImager.Engine.Deploy;

/// <summary>The unattended job's configuration (kernel command line or conf file) cannot be used; the message names
/// where and why. Nothing has been run.</summary>
/// <param name="job">The job as far as it could be read (its line split into words), so that the refusal can be
/// reported on the job's store; null when not even that could be read.</param>
public sealed class UnattendedConfigException(string message, UnattendedConfig? job = null) : Exception(message)
{
    public UnattendedConfig? Job => job;
}
