namespace LiveImager.Engine.Devices;

/// <summary>The device is in use: mounted, active swap, held by md/LVM/dm, the boot medium, or opened exclusively elsewhere.</summary>
public sealed class DeviceBusyException(string path, int errno, string message) : DeviceException(path, errno, message);
