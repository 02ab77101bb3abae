using LiveImager.Engine.Targets;

namespace LiveImager.Tui;

/// <summary>What the technician chose earlier in this session, so that the next job starts from it.</summary>
internal sealed class TuiSession : IDisposable
{
    /// <summary>The directory images are written to and read from; null until the technician sets one.</summary>
    public string? StorePath { get; set; }

    /// <summary>The store the Storage screen mounted, kept mounted until another replaces it or the TUI exits.</summary>
    public MountedStore? Store { get; private set; }

    /// <summary>Makes <paramref name="store"/> the session's store, unmounting the one it replaces.</summary>
    public void Use(MountedStore store)
    {
        MountedStore? previous = Store;
        Store = store;
        StorePath = store.Directory;
        previous?.Dispose();
    }

    public void Dispose()
    {
        Store?.Dispose();
        Store = null;
    }
}
