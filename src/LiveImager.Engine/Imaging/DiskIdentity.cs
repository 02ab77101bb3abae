namespace LiveImager.Engine.Imaging;

/// <summary>A disk's model and serial as sysfs reports them, for the image's metadata and the log.</summary>
internal static class DiskIdentity
{
    /// <summary>The sysfs attribute <paramref name="attribute"/> (model, serial) of the disk at <paramref name="devicePath"/>, or null.</summary>
    public static string? Read(string devicePath, string attribute)
    {
        if (!devicePath.StartsWith("/dev/", StringComparison.Ordinal))
        {
            return null;
        }
        string name = Path.GetFileName(Path.GetFullPath(new FileInfo(devicePath).LinkTarget is { } target
            ? Path.Combine(Path.GetDirectoryName(devicePath)!, target) : devicePath));
        foreach (string candidate in new[] { $"/sys/block/{name}/device/{attribute}", $"/sys/block/{name}/{attribute}" })
        {
            if (File.Exists(candidate))
            {
                string value = File.ReadAllText(candidate).Trim();
                return value.Length > 0 ? value : null;
            }
        }
        return null;
    }
}
