namespace LiveImager.Formats.Tests.Support;

/// <summary>A temporary directory for one test's files, removed when the test ends.</summary>
public sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory()
    {
        Path = Directory.CreateTempSubdirectory("liveimager-test-").FullName;
    }

    public string Path { get; }

    /// <summary>The path of <paramref name="name"/> inside the directory.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Creates a sparse file of <paramref name="bytes"/> bytes and returns its path.</summary>
    public string SparseFile(string name, long bytes)
    {
        string path = File(name);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.SetLength(bytes);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A FUSE mount left behind by a failed test keeps the directory busy; the test's own cleanup reports it.
        }
    }
}
