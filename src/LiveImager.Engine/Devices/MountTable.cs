namespace LiveImager.Engine.Devices;

/// <summary>/proc/self/mountinfo: which device (major:minor) is mounted where.</summary>
/// <remarks>proc(5): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" — field 3 is
/// major:minor, field 5 the mount point, and after the "-" separator come the filesystem type and the source.</remarks>
internal sealed class MountTable
{
    private const int DeviceNumberField = 2;
    private const int MountPointField = 4;

    private MountTable(IReadOnlyList<MountEntry> entries)
    {
        Entries = entries;
    }

    /// <summary>The mounts in the order the kernel lists them.</summary>
    public IReadOnlyList<MountEntry> Entries { get; }

    /// <summary>Reads a mountinfo file; a missing file (no procfs) means nothing is mounted that we can see.</summary>
    public static MountTable Read(string mountInfoPath) =>
        File.Exists(mountInfoPath) ? Parse(File.ReadAllLines(mountInfoPath)) : new MountTable([]);

    public static MountTable Parse(IEnumerable<string> lines)
    {
        var entries = new List<MountEntry>();
        foreach (string line in lines)
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int separator = Array.IndexOf(fields, "-");
            if (separator <= MountPointField || fields.Length < separator + 3)
            {
                continue;
            }
            entries.Add(new MountEntry(fields[DeviceNumberField], ProcEscapes.Unescape(fields[MountPointField]),
                fields[separator + 1], ProcEscapes.Unescape(fields[separator + 2])));
        }
        return new MountTable(entries);
    }
}

/// <summary>One line of mountinfo.</summary>
internal sealed record MountEntry(string DeviceNumber, string MountPoint, string FileSystemType, string Source);
