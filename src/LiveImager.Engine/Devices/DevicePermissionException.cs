namespace LiveImager.Engine.Devices;

/// <summary>Access was refused (EPERM, EACCES, EROFS): not root, or a read-only device.</summary>
public sealed class DevicePermissionException(string path, int errno, string message) : DeviceException(path, errno, message);
