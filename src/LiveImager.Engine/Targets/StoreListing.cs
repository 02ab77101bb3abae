using LiveImager.Engine.Imaging;

namespace LiveImager.Engine.Targets;

/// <summary>A store's images and its free space (-1 for an s3:// store: a bucket has no fixed size).</summary>
/// <param name="HostKey">SSH: the server's host-key fingerprint, else null.</param>
/// <param name="HostKeyPinned">SSH: true when the URL pinned the key, false when it was trusted on first use; else null.</param>
public sealed record StoreListing(string Location, long FreeBytes, IReadOnlyList<StoredImage> Images, string? HostKey = null,
    bool? HostKeyPinned = null)
{
    /// <summary>The images in <paramref name="store"/>'s directory (<see cref="ImageCatalog.List"/>), with its free space.</summary>
    public static StoreListing Of(MountedStore store) =>
        new(store.Location.ToString(), store.FreeBytes, ImageCatalog.List(store.Directory), store.HostKey,
            store.HostKey is null ? null : store.HostKeyPinned);
}
