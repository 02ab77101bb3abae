using System.Security.Cryptography;
using System.Text.RegularExpressions;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Btrfs;

/// <summary>A real btrfs made by mkfs.btrfs and filled through a kernel mount: files copied from /usr, random data,
/// optionally a subvolume and a snapshot of it changed afterwards, and some files deleted.</summary>
public sealed partial class BtrfsTestVolume
{
    private BtrfsTestVolume(string path, SortedDictionary<string, string> files)
    {
        Path = path;
        Files = files;
    }

    /// <summary>The image file (or device) holding the filesystem.</summary>
    public string Path { get; }

    /// <summary>Every file in the filesystem, snapshots included, by path relative to its root: sha256 of a regular
    /// file, "link:TARGET" of a symbolic link.</summary>
    public SortedDictionary<string, string> Files { get; }

    /// <summary>Makes a <paramref name="sizeMiB"/> MiB image with <c>mkfs.btrfs ARGS</c>, mounts it with
    /// <paramref name="mountOptions"/>, fills it (<see cref="Fill"/>) and unmounts it.</summary>
    public static BtrfsTestVolume Create(ScratchDirectory scratch, string name, string mkfsArgs, long sizeMiB,
        string mountOptions = "defaults", bool subvolumes = false, long copyBytes = 24 << 20, long randomBytes = 24 << 20)
    {
        BtrfsLoopMount.RequireTools();
        string path = scratch.SparseFile(name + ".img", sizeMiB << 20);
        ExternalTool.Run("mkfs.btrfs", [.. mkfsArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-q", "-f", "-L", "li-" + name, path]);
        SortedDictionary<string, string> files;
        using (var mount = BtrfsLoopMount.Mount(path, scratch.File(name + ".mnt"), mountOptions))
        {
            Fill(mount.Directory, seed: name.Length, copyBytes, randomBytes, subvolumes);
            files = HashFiles(mount.Directory);
        }
        return new BtrfsTestVolume(path, files);
    }

    /// <summary>Copies about <paramref name="copyBytes"/> of files from /usr/share/doc and /usr/lib/python3 (many
    /// small files: metadata-heavy, inline extents), writes <paramref name="randomBytes"/> of random data in a few
    /// files, deletes every fifth copied file, and with <paramref name="subvolumes"/> puts half of it in a subvolume,
    /// snapshots that, and then changes the subvolume so that the snapshot keeps extents no longer in it.</summary>
    public static void Fill(string root, int seed, long copyBytes, long randomBytes, bool subvolumes)
    {
        var random = new Random(seed);
        string target = root;
        if (subvolumes)
        {
            ExternalTool.Run("btrfs", "subvolume", "create", System.IO.Path.Combine(root, "sv"));
        }
        long copied = 0;
        var copiedFiles = new List<string>();
        foreach (string source in new[] { "/usr/share/doc", "/usr/lib/python3" }.Where(Directory.Exists)
                     .SelectMany(dir => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)))
        {
            if (copied >= copyBytes)
            {
                break;
            }
            var info = new FileInfo(source);
            if (info.LinkTarget is not null || !info.Exists)
            {
                continue;
            }
            if (subvolumes)
            {
                target = copiedFiles.Count % 2 == 0 ? System.IO.Path.Combine(root, "sv") : root;
            }
            string destination = System.IO.Path.Combine(target, "usr", source.TrimStart('/'));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
            copied += info.Length;
            copiedFiles.Add(destination);
        }
        Directory.CreateDirectory(System.IO.Path.Combine(root, "random"));
        long[] sizes = [randomBytes / 2, randomBytes / 4, randomBytes / 8, 4097, 1, 65536 + 17];
        for (int i = 0; i < sizes.Length; i++)
        {
            var data = new byte[Math.Max(0, sizes[i])];
            random.NextBytes(data);
            string dir = subvolumes && i % 2 == 0 ? System.IO.Path.Combine(root, "sv", "random") : System.IO.Path.Combine(root, "random");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(System.IO.Path.Combine(dir, $"random{i}.bin"), data);
        }
        File.CreateSymbolicLink(System.IO.Path.Combine(root, "random", "link"), "random0.bin");
        if (subvolumes)
        {
            ExternalTool.Run("sync");
            ExternalTool.Run("btrfs", "subvolume", "snapshot", System.IO.Path.Combine(root, "sv"), System.IO.Path.Combine(root, "snap"));
            ExternalTool.Run("btrfs", "subvolume", "snapshot", "-r", System.IO.Path.Combine(root, "sv"), System.IO.Path.Combine(root, "snap-ro"));
            var overwrite = new byte[1 << 20];
            random.NextBytes(overwrite);
            File.WriteAllBytes(System.IO.Path.Combine(root, "sv", "random", "random0.bin"), overwrite);
        }
        for (int i = 0; i < copiedFiles.Count; i += 5)
        {
            File.Delete(copiedFiles[i]);
        }
        ExternalTool.Run("sync");
    }

    /// <summary>The sha256 of every regular file under <paramref name="root"/> and the target of every link.</summary>
    public static SortedDictionary<string, string> HashFiles(string root)
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(path);
            string relative = System.IO.Path.GetRelativePath(root, path);
            if (info.LinkTarget is { } link)
            {
                hashes[relative] = "link:" + link;
            }
            else if (info.Exists)
            {
                using var stream = File.OpenRead(path);
                hashes[relative] = Convert.ToHexString(SHA256.HashData(stream));
            }
        }
        return hashes;
    }

    /// <summary>What btrfs itself counts as used on the device: every block group's used bytes (dump-tree), times the
    /// copies its profile keeps (two for DUP).</summary>
    public static long OracleUsedBytes(string image)
    {
        string dump = ExternalTool.Run("btrfs", "inspect-internal", "dump-tree", "-t", "extent", image);
        long used = 0;
        int groups = 0;
        foreach (Match match in BlockGroupRegex().Matches(dump))
        {
            long bytes = long.Parse(match.Groups[1].Value);
            used += match.Groups[2].Value.Contains("DUP", StringComparison.Ordinal) ? 2 * bytes : bytes;
            groups++;
        }
        Assert.True(groups > 0, $"dump-tree printed no block group item:\n{dump[..Math.Min(dump.Length, 2000)]}");
        return used;
    }

    /// <summary>Asserts that the map's used bytes are at least btrfs's own count and at most 1% + 1 MiB more.</summary>
    public static void AssertUsedBytesNearOracle(long ours, long oracle)
    {
        Assert.True(ours >= oracle, $"the map marks {ours} bytes used, fewer than the {oracle} btrfs counts");
        Assert.True(ours <= oracle + (oracle / 100) + (1 << 20), $"the map marks {ours} bytes used, over 1% + 1 MiB more than btrfs's {oracle}");
    }

    /// <summary>Asserts that <c>btrfs check --readonly</c> finds <paramref name="image"/> sound, that it mounts
    /// read-only, and that every file reads back unchanged.</summary>
    public void AssertCopyIsComplete(string image, ScratchDirectory scratch) => AssertSound(image, Files, scratch);

    /// <summary>As <see cref="AssertCopyIsComplete"/> for any image or device and the files expected in it.</summary>
    public static void AssertSound(string image, SortedDictionary<string, string> files, ScratchDirectory scratch)
    {
        var check = ExternalTool.RunUnchecked("btrfs", null, "check", "--readonly", image);
        Assert.True(check.ExitCode == 0, $"btrfs check --readonly failed ({check.ExitCode}):\n{check.StandardOutput}\n{check.StandardError}");
        using var mount = BtrfsLoopMount.Mount(image, scratch.File("check-" + Guid.NewGuid().ToString("N")[..8]), "ro");
        var found = HashFiles(mount.Directory);
        Assert.Equal(files.Count, found.Count);
        foreach (var (file, hash) in files)
        {
            Assert.True(found.TryGetValue(file, out string? got), $"{file} is missing from the copy");
            Assert.True(hash == got, $"{file} differs in the copy");
        }
    }

    [GeneratedRegex(@"block group used (\d+) chunk_objectid \d+ flags (\S+)")]
    private static partial Regex BlockGroupRegex();
}
