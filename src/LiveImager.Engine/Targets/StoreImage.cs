namespace LiveImager.Engine.Targets;

/// <summary>An IMAGE argument made local: a path as given, or a store URL's directory mounted and the image's path
/// inside it; disposing unmounts.</summary>
public sealed class StoreImage : IDisposable
{
    private StoreImage(string path, MountedStore? store)
    {
        Path = path;
        Store = store;
    }

    /// <summary>The image's local path ("-" stays "-").</summary>
    public string Path { get; }

    /// <summary>The mounted store, or null when the argument was a local path or "-".</summary>
    public MountedStore? Store { get; }

    /// <summary>Opens <paramref name="argument"/>; for writing, the store's directory must accept a new file.</summary>
    public static StoreImage Open(string argument, StoreOptions options, bool forWriting)
    {
        if (argument == "-" || !StoreLocation.IsUrl(argument))
        {
            return new StoreImage(argument, null);
        }
        var (directory, name) = StoreLocation.Parse(argument).SplitFile();
        MountedStore store = new StoreMounter(options).Mount(directory);
        try
        {
            if (forWriting)
            {
                store.RequireWritable();
            }
            return new StoreImage(store.PathOf(name), store);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public void Dispose() => Store?.Dispose();
}
