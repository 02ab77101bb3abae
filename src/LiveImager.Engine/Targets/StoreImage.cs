namespace LiveImager.Engine.Targets;

/// <summary>An IMAGE argument made usable: a path as given, a store URL's directory mounted and the image's path
/// inside it, or an s3:// store opened and the image's URL, which the jobs open through <see cref="S3Store.Find"/>;
/// disposing unmounts or closes.</summary>
public sealed class StoreImage : IDisposable
{
    private StoreImage(string path, MountedStore? store, S3Store? objectStore = null)
    {
        Path = path;
        Store = store;
        ObjectStore = objectStore;
    }

    /// <summary>The image's local path ("-" stays "-"), or for an s3:// store its URL.</summary>
    public string Path { get; }

    /// <summary>The opened s3:// store, or null.</summary>
    public S3Store? ObjectStore { get; }

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
        if (directory.Kind == StoreKind.S3)
        {
            // Writing needs no probe: the upload itself is refused with its reason before any disk is read.
            S3Store objects = S3Store.Open(directory, options);
            return new StoreImage(objects.UrlOf(name), null, objects);
        }
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

    public void Dispose()
    {
        Store?.Dispose();
        ObjectStore?.Dispose();
    }
}
