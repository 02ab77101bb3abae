namespace LiveImager.Engine.Targets;

/// <summary>Which filesystems this kernel can mount, from /proc/filesystems, loading a module first when needed.</summary>
public sealed class KernelSupport(string procFileSystems = "/proc/filesystems", MountRunner? run = null)
{
    private readonly MountRunner _run = run ?? StoreTools.Run;

    /// <summary>The filesystem names in /proc/filesystems text ("nodev\tcifs" → "cifs").</summary>
    public static IReadOnlySet<string> Parse(string text) =>
        text.Split('\n').Select(line => line.Split('\t', ' ').Last().Trim()).Where(name => name.Length > 0).ToHashSet();

    /// <summary>True when the kernel has <paramref name="fileSystem"/>, after trying <c>modprobe</c> for it once.</summary>
    public bool Has(string fileSystem)
    {
        if (Listed(fileSystem))
        {
            return true;
        }
        if (StoreTools.Find("modprobe") is not null)
        {
            _run(new MountCommand("modprobe", ["-q", fileSystem]));
        }
        return Listed(fileSystem);
    }

    /// <summary>Throws the plain "this kernel cannot mount ..." message unless the kernel has <paramref name="fileSystem"/>.</summary>
    public void Require(string fileSystem, string what)
    {
        if (!Has(fileSystem))
        {
            throw new StoreException(StoreProblem.Unsupported, $"this kernel cannot mount {what} (no '{fileSystem}' in " +
                $"{procFileSystems}, and the module could not be loaded); boot the LiveImager medium, whose kernel has it");
        }
    }

    private bool Listed(string fileSystem) => File.Exists(procFileSystems) && Parse(File.ReadAllText(procFileSystems)).Contains(fileSystem);
}
