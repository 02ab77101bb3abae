using System.Collections.Concurrent;
using LiveImager.Engine.Imaging;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Targets;

/// <summary>An s3:// store opened for one job: a signed client, its access checked once. It is not mounted: the image
/// is read and written as a stream of requests. While open, its image URLs are known to <see cref="Find"/>, through
/// which <c>ImageInput</c> and <c>ImageOutput</c> open them as they open a file's path.</summary>
public sealed class S3Store : IDisposable
{
    /// <summary>Chunks of a front-to-back read, and how many are fetched ahead: 8 MiB × (4 + 1) in memory.</summary>
    private const int SequentialChunkBytes = 8 << 20;
    private const int SequentialAhead = 4;

    /// <summary>A random read (header, index, footer, used maps) fetches 1 MiB around what it needs.</summary>
    private const int RandomChunkBytes = 1 << 20;

    private static readonly ConcurrentDictionary<string, S3Store> s_open = new(StringComparer.Ordinal);

    /// <summary>Open stores by their own URL (<see cref="StoreLocation.ToUrl"/>): the TUI's session store is named so.</summary>
    private static readonly ConcurrentDictionary<string, S3Store> s_directories = new(StringComparer.Ordinal);
    private readonly List<string> _registered = [];

    private S3Store(S3Client client)
    {
        Client = client;
        s_directories[client.Location.ToUrl()] = this;
    }

    public S3Client Client { get; }

    public StoreLocation Location => Client.Location;

    /// <summary>Opens the store at <paramref name="location"/> (a directory: bucket and prefix) and checks the login
    /// and the bucket with one listing request.</summary>
    public static S3Store Open(StoreLocation location, StoreOptions options)
    {
        S3Credentials credentials = S3Credentials.Resolve(location, options.Credentials);
        var client = new S3Client(location, credentials, options.CaFile);
        try
        {
            client.CheckAccess();
            return new S3Store(client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The URL by which jobs name <paramref name="fileName"/> in this store, known to <see cref="Find"/> until
    /// the store is disposed.</summary>
    public string UrlOf(string fileName)
    {
        string url = (Location with { Path = Location.Path == "/" ? "/" + fileName : Location.Path + "/" + fileName }).ToUrl();
        s_open[url] = this;
        _registered.Add(url);
        return url;
    }

    /// <summary>The open store that <paramref name="path"/> names an image in, or null for a file's path.</summary>
    public static S3Store? Find(string path) => s_open.GetValueOrDefault(path);

    /// <summary>The open store whose own URL is <paramref name="url"/>, or null (a directory's path, an unknown URL).</summary>
    public static S3Store? FindDirectory(string url) => s_directories.GetValueOrDefault(url);

    /// <summary>An image URL as a person types it (<c>s3://…/bucket/prefix/NAME.lim</c>, with or without the store's query)
    /// made the URL of that image in the open store holding it; null when no open store holds it.</summary>
    public static string? Resolve(string text)
    {
        if (!text.StartsWith("s3://", StringComparison.Ordinal))
        {
            return null;
        }
        StoreLocation typed;
        string name;
        try
        {
            (typed, name) = StoreLocation.Parse(text).SplitFile();
        }
        catch (StoreException)
        {
            return null;
        }
        S3Store? store = s_directories.Values.FirstOrDefault(s => s.Location with { S3 = null, User = null } == typed with { S3 = null, User = null });
        return store?.UrlOf(name);
    }

    /// <summary>The object key of an image URL from <see cref="UrlOf"/>.</summary>
    private string KeyOf(string url)
    {
        string path = StoreLocation.Parse(url).Path;
        return path.TrimStart('/');
    }

    /// <summary>The image's bytes, front to back with chunks fetched ahead (<paramref name="sequential"/>), or at random.</summary>
    public Stream OpenRead(string url, bool sequential)
    {
        string key = KeyOf(url);
        long length = Client.Length(key) ?? throw new StoreException(StoreProblem.NotFound,
            $"{StoreLocation.Parse(url)} does not exist (no such object in bucket '{Location.Share}')");
        return sequential
            ? new S3ReadStream(Client, key, length, SequentialChunkBytes, SequentialAhead)
            : new S3ReadStream(Client, key, length, RandomChunkBytes, 0);
    }

    /// <summary>The image as <see cref="VolumeReaderStream"/> reads files: one volume (images on S3 are never split).</summary>
    public VolumeReaderStream OpenVolumes(string url)
    {
        Stream first = OpenRead(url, sequential: false);
        return new VolumeReaderStream(n => n == 1 ? first : null, _ => url);
    }

    /// <summary>Starts the upload of a new image; an existing object of that name is refused unless
    /// <paramref name="force"/>, and then replaced only when the upload completes.</summary>
    public S3UploadStream Create(string url, bool force, long expectedBytes)
    {
        string key = KeyOf(url);
        if (!force && Client.Length(key) is not null)
        {
            throw new StoreException(StoreProblem.Refused, $"{key} already exists in bucket '{Location.Share}'; choose another name or pass --force to replace it");
        }
        return new S3UploadStream(Client, key, expectedBytes);
    }

    /// <summary>The images directly under the store's prefix, described as <see cref="ImageCatalog.List"/> describes a
    /// directory's: objects that do not start with an image's magic are left out. Free space is unknown (-1): a bucket
    /// has no fixed size.</summary>
    public StoreListing List(CancellationToken cancellationToken = default)
    {
        var images = new List<StoredImage>();
        Span<byte> magic = stackalloc byte[ImageHeader.Magic.Length];
        foreach (var (name, size) in Client.List(cancellationToken: cancellationToken).OrderBy(o => o.Name, StringComparer.Ordinal))
        {
            if (name.Contains('/') || size < ImageHeader.Length)
            {
                continue;
            }
            var head = new byte[magic.Length];
            if (Client.Read(KeyOf(UrlOf(name)), 0, head, cancellationToken) == head.Length && head.AsSpan().SequenceEqual(ImageHeader.Magic))
            {
                images.Add(ImageCatalog.Describe(UrlOf(name)));
            }
        }
        return new StoreListing(Location.ToString(), -1, images);
    }

    public void Dispose()
    {
        s_directories.TryRemove(new KeyValuePair<string, S3Store>(Location.ToUrl(), this));
        foreach (string url in _registered)
        {
            s_open.TryRemove(url, out _);
        }
        Client.Dispose();
    }
}
