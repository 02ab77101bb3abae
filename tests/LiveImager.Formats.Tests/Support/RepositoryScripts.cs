namespace LiveImager.Formats.Tests.Support;

/// <summary>The repository's <c>scripts/</c> (make-test-disk.sh, check-test-disk.sh, make-clonezilla-image.sh…), found
/// in the first directory above the test binary that has them.</summary>
public static class RepositoryScripts
{
    /// <summary>The full path of <c>scripts/<paramref name="name"/></c>.</summary>
    public static string Path(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "scripts", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"no scripts/{name} above {AppContext.BaseDirectory}");
    }

    /// <summary>The repository's root: the directory that holds <c>scripts/</c>.</summary>
    public static string Repository => System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(Path("make-test-disk.sh")))!;
}
