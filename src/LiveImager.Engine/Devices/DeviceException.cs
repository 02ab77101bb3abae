namespace LiveImager.Engine.Devices;

/// <summary>A failure to open or use a disk or image file; the message names the path and the cause.</summary>
public abstract class DeviceException(string path, int errno, string message) : IOException(message)
{
    /// <summary>The device or file concerned.</summary>
    public string Path { get; } = path;

    /// <summary>The errno behind the failure, or 0 when the Engine refused on its own.</summary>
    public int Errno { get; } = errno;
}
