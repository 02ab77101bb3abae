using LiveImager.Engine.Targets;

namespace LiveImager.Tui;

/// <summary>What the technician chose earlier in this session, so that the next job starts from it.</summary>
internal sealed class TuiSession : IDisposable
{
    /// <summary>The directory images are written to and read from (for an s3:// store, its URL); null until the
    /// technician sets one.</summary>
    public string? StorePath { get; set; }

    /// <summary>The store the Storage screen mounted, kept mounted until another replaces it or the TUI exits.</summary>
    public MountedStore? Store { get; private set; }

    /// <summary>The s3:// store the Storage screen opened, kept open (its images' URLs known to the jobs) until another
    /// store replaces it or the TUI exits.</summary>
    public S3Store? ObjectStore { get; private set; }

    /// <summary>Makes <paramref name="store"/> the session's store, unmounting the one it replaces.</summary>
    public void Use(MountedStore store)
    {
        MountedStore? previous = Store;
        S3Store? previousObjects = ObjectStore;
        Store = store;
        ObjectStore = null;
        StorePath = store.Directory;
        previous?.Dispose();
        previousObjects?.Dispose();
    }

    /// <summary>Makes the opened s3:// <paramref name="store"/> the session's store, closing the one it replaces.</summary>
    public void Use(S3Store store)
    {
        MountedStore? previous = Store;
        S3Store? previousObjects = ObjectStore;
        Store = null;
        ObjectStore = store;
        StorePath = store.Location.ToUrl();
        previous?.Dispose();
        previousObjects?.Dispose();
    }

    public void Dispose()
    {
        Store?.Dispose();
        Store = null;
        ObjectStore?.Dispose();
        ObjectStore = null;
    }
}
