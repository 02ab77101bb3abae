namespace LiveImager.Engine.Devices;

/// <summary>A read, write or control call failed, or a device returned less data than it holds.</summary>
public sealed class DeviceIoException(string path, int errno, string message) : DeviceException(path, errno, message);
