namespace LiveImager.Engine.Devices;

/// <summary>The device or file does not exist (ENOENT, ENXIO, ENODEV).</summary>
public sealed class DeviceNotFoundException(string path, int errno, string message) : DeviceException(path, errno, message);
