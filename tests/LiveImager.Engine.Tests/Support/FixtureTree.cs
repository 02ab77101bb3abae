using LiveImager.Engine.Devices;

namespace LiveImager.Engine.Tests.Support;

/// <summary>The committed sysfs/procfs trees in Fixtures/ (see its README), read straight from the source tree.</summary>
/// <remarks>Not copied to the build output: MSBuild would follow the trees' symbolic links and flatten them.</remarks>
public static class FixtureTree
{
    /// <summary>The directory of the fixture tree <paramref name="name"/>.</summary>
    public static string Path(string name)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = System.IO.Path.Combine(directory.FullName, "tests", "LiveImager.Engine.Tests", "Fixtures", name);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"fixture tree {name} not found above {AppContext.BaseDirectory}");
    }

    /// <summary>A scanner over the tree's sys/ and proc/, with device paths spelled under /dev.</summary>
    public static DiskScanner Scanner(string name) =>
        new(sysRoot: System.IO.Path.Combine(Path(name), "sys"), procRoot: System.IO.Path.Combine(Path(name), "proc"));
}
