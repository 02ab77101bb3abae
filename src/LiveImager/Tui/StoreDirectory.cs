using LiveImager.Engine.Targets;

namespace LiveImager.Tui;

/// <summary>The store directories the screens take: a local (or mounted) directory's path, or the URL of the s3://
/// store the session opened, whose images are named by the URLs <see cref="S3Store.UrlOf"/> gives.</summary>
internal static class StoreDirectory
{
    /// <summary>True when <paramref name="path"/> is a directory here or an open s3:// store.</summary>
    public static bool Exists(string path) => S3Store.FindDirectory(path) is not null || Directory.Exists(path);

    /// <summary>A directory's full path; an open s3:// store's URL as it is.</summary>
    public static string Full(string path) => S3Store.FindDirectory(path) is not null ? path : Path.GetFullPath(path);

    /// <summary>The image <paramref name="name"/> in the directory or open s3:// store <paramref name="directory"/>.</summary>
    public static string Join(string directory, string name) =>
        S3Store.FindDirectory(directory)?.UrlOf(name) ?? Path.Combine(directory, name);

    /// <summary>What the Verify screen's field holds before a name is typed: the directory, or the store's URL
    /// without its query (<see cref="S3Store.Resolve"/> finds the store again from what is typed).</summary>
    public static string Prefix(string directory) =>
        (S3Store.FindDirectory(directory) is { } store ? store.Location with { S3 = null } : null)?.ToUrl() is { } url
            ? url.TrimEnd('/') + "/"
            : directory.TrimEnd('/') + "/";

    /// <summary>True when <paramref name="path"/> is a file here or an image URL of the open s3:// store (whose object
    /// the job itself finds, or says plainly it does not).</summary>
    public static bool ImageExists(string path) => S3Store.Find(path) is not null || File.Exists(path);

    /// <summary>An image path as typed: an s3:// URL of an image in the open store becomes that image's URL.</summary>
    public static string Image(string typed) => S3Store.Resolve(typed) ?? typed;
}
