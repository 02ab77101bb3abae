namespace LiveImager.Engine.Devices;

/// <summary>The target has no room left (ENOSPC, EFBIG).</summary>
public sealed class NoSpaceException(string path, int errno, string message) : DeviceException(path, errno, message);
