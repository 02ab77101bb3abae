namespace LiveImager.Engine.Deploy;

/// <summary>The unattended job's configuration (kernel command line or conf file) cannot be used; the message names
/// where and why. Nothing has been run.</summary>
public sealed class UnattendedConfigException(string message) : Exception(message);
