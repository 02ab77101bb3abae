using System.Security.Cryptography;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Xfs;

/// <summary>An XFS filesystem made by mkfs.xfs on a sparse file and filled through a real mount (the kernel's own xfs,
/// over a loop device): real files from /usr, random files, some of them deleted so that free space holds stale data.</summary>
public sealed class XfsTestVolume
{
    /// <summary>Trees of real files copied in; small enough to keep each case to a few seconds.</summary>
    private static readonly string[] s_realTrees = ["/usr/include/linux", "/usr/share/perl5"];

    private XfsTestVolume(string path, IReadOnlyDictionary<string, string> files)
    {
        Path = path;
        Files = files;
    }

    /// <summary>The image file.</summary>
    public string Path { get; }

    /// <summary>Every regular file left in the filesystem (path relative to its root) and its sha256.</summary>
    public IReadOnlyDictionary<string, string> Files { get; }

    /// <summary>True when a volume can be made here (xfsprogs, root, the loop driver, the kernel's xfs), for tests that
    /// cover XFS only where they can and go on without it.</summary>
    public static bool CanCreate => ExternalTool.Exists("mkfs.xfs") && ExternalTool.Exists("xfs_repair") && Privileges.IsRoot &&
        File.Exists("/dev/loop-control") && File.ReadAllText("/proc/filesystems").Contains("\txfs\n", StringComparison.Ordinal);

    /// <summary>Skips the test unless xfsprogs is installed and loop mounts are possible (root, /dev/loop-control).</summary>
    public static void RequireTools()
    {
        ExternalTool.Require("mkfs.xfs", "xfsprogs");
        ExternalTool.Require("xfs_repair", "xfsprogs");
        ExternalTool.Require("xfs_db", "xfsprogs");
        RequireMount();
    }

    /// <summary>Skips the test unless it may mount loop devices.</summary>
    public static void RequireMount()
    {
        Privileges.RequireLoopDevices("needs root to mount XFS on a loop device");
        Skip.IfNot(File.Exists("/dev/loop-control"), "needs the loop driver (/dev/loop-control is missing)");
        Skip.IfNot(File.ReadAllText("/proc/filesystems").Contains("\txfs\n", StringComparison.Ordinal),
            "needs the kernel's xfs (not in /proc/filesystems)");
        ExternalTool.Require("mount", "mount");
    }

    /// <summary>Runs <c>mkfs.xfs ARGS FILE</c> on a sparse file of <paramref name="sizeMiB"/> MiB, mounts it, copies in
    /// real trees and about <paramref name="randomBytes"/> of random files, deletes a few, and unmounts cleanly.</summary>
    public static XfsTestVolume Create(ScratchDirectory scratch, string name, string mkfsArgs, long sizeMiB,
        long randomBytes = 24 << 20, IReadOnlyList<string>? realTrees = null)
    {
        string path = scratch.SparseFile(name + ".img", sizeMiB << 20);
        string[] mkfs = [.. mkfsArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            "-q", "-f", "-L", "li-" + name[..Math.Min(name.Length, 9)]];
        if (mkfsArgs.Contains("crc=0", StringComparison.Ordinal))
        {
            return CreateFromPrototype(scratch, path, mkfs, randomBytes, seed: name.Length);
        }
        // mkfs.xfs refuses filesystems under 300 MiB unless it runs under fstests, which these variables announce.
        string[] fstests = sizeMiB < 300 ? ["TEST_DIR=/tmp", "TEST_DEV=/dev/null", "QA_CHECK_FS=1"] : [];
        ExternalTool.Run("env", [.. fstests, "mkfs.xfs", .. mkfs, path]);
        Dictionary<string, string> files;
        using (var mount = XfsMount.Mount(scratch, path, readOnly: false))
        {
            Fill(mount.Directory, realTrees ?? s_realTrees, randomBytes, seed: name.Length);
            files = HashTree(mount.Directory);
        }
        return new XfsTestVolume(path, files);
    }

    /// <summary>A v4 filesystem: this kernel is built without CONFIG_XFS_SUPPORT_V4 and cannot mount one, so mkfs.xfs
    /// fills it from a prototype file (-p) with random files and real ones from /usr/include/linux. Nothing is deleted
    /// (nothing could delete without a mount), and files are read back through xfs_db's block maps instead of a mount.</summary>
    private static XfsTestVolume CreateFromPrototype(ScratchDirectory scratch, string path, string[] mkfs, long randomBytes,
        int seed)
    {
        string source = System.IO.Directory.CreateDirectory(scratch.File("prototype-files")).FullName;
        var random = new Random(seed);
        var proto = new System.Text.StringBuilder("liveimager\n0 0\nd--755 0 0\nrandom d--755 0 0\n");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        long[] sizes = [0, 1, 4097, 70000, 300_000, randomBytes / 3, randomBytes / 5];
        for (int i = 0; i < sizes.Length; i++)
        {
            var data = new byte[sizes[i]];
            random.NextBytes(data);
            string file = System.IO.Path.Combine(source, $"file{i:D2}");
            File.WriteAllBytes(file, data);
            proto.Append($"file{i:D2} ---644 0 0 {file}\n");
            files[$"random/file{i:D2}"] = Convert.ToHexString(SHA256.HashData(data));
        }
        proto.Append("$\nreal d--755 0 0\n");
        foreach (string file in System.IO.Directory.EnumerateFiles("/usr/include/linux").Order(StringComparer.Ordinal).Take(150))
        {
            string leaf = System.IO.Path.GetFileName(file);
            proto.Append($"{leaf} ---644 0 0 {file}\n");
            using var stream = File.OpenRead(file);
            files[$"real/{leaf}"] = Convert.ToHexString(SHA256.HashData(stream));
        }
        proto.Append("$\n$\n");
        string protoFile = scratch.File("prototype");
        File.WriteAllText(protoFile, proto.ToString());
        ExternalTool.Run("mkfs.xfs", [.. mkfs, "-p", protoFile, path]);
        System.IO.Directory.Delete(source, recursive: true);
        return new XfsTestVolume(path, files);
    }

    /// <summary>sha256 of each file in <paramref name="files"/> as read from <paramref name="image"/> without mounting
    /// it: xfs_db prints each file's extents (bmap) and size, and the bytes are read from the image there.</summary>
    public static Dictionary<string, string> HashThroughBlockMaps(string image, IEnumerable<string> files)
    {
        var names = files.ToList();
        int blockSize = int.Parse(SuperblockField(image, "blocksize"));
        long agBlocks = long.Parse(SuperblockField(image, "agblocks"));
        var args = new List<string> { "-r", "-f" };
        foreach (string file in names)
        {
            args.AddRange(["-c", $"path /{file}", "-c", "bmap", "-c", "p core.size"]);
        }
        args.Add(image);
        string output = ExternalTool.Run("xfs_db", [.. args]);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        var extents = new List<(long Offset, long Block, long Count, bool Unwritten)>();
        int next = 0;
        using var stream = File.OpenRead(image);
        foreach (string line in output.Split('\n'))
        {
            var extent = System.Text.RegularExpressions.Regex.Match(line,
                @"^data offset (\d+) startblock \d+ \((\d+)/(\d+)\) count (\d+) flag (\d)");
            if (extent.Success)
            {
                long block = (long.Parse(extent.Groups[2].Value) * agBlocks) + long.Parse(extent.Groups[3].Value);
                extents.Add((long.Parse(extent.Groups[1].Value), block, long.Parse(extent.Groups[4].Value),
                    extent.Groups[5].Value == "1"));
                continue;
            }
            if (!line.StartsWith("core.size = ", StringComparison.Ordinal))
            {
                continue;
            }
            var data = new byte[long.Parse(line["core.size = ".Length..])];
            foreach (var (offset, block, count, unwritten) in extents)
            {
                long start = offset * blockSize;
                int length = (int)Math.Min(count * blockSize, data.Length - start);
                if (length > 0 && !unwritten)
                {
                    stream.Position = block * blockSize;
                    stream.ReadExactly(data, (int)start, length);
                }
            }
            hashes[names[next++]] = Convert.ToHexString(SHA256.HashData(data));
            extents.Clear();
        }
        return hashes;
    }

    /// <summary>The extents of <paramref name="files"/> as (filesystem-wide block, count), from xfs_db's bmap.</summary>
    public static List<(long Block, long Count)> FileExtents(string image, IEnumerable<string> files)
    {
        long agBlocks = long.Parse(SuperblockField(image, "agblocks"));
        var args = new List<string> { "-r", "-f" };
        foreach (string file in files)
        {
            args.AddRange(["-c", $"path /{file}", "-c", "bmap"]);
        }
        args.Add(image);
        var extents = new List<(long, long)>();
        foreach (string line in ExternalTool.Run("xfs_db", [.. args]).Split('\n'))
        {
            var extent = System.Text.RegularExpressions.Regex.Match(line,
                @"^data offset \d+ startblock \d+ \((\d+)/(\d+)\) count (\d+)");
            if (extent.Success)
            {
                extents.Add(((long.Parse(extent.Groups[1].Value) * agBlocks) + long.Parse(extent.Groups[2].Value),
                    long.Parse(extent.Groups[3].Value)));
            }
        }
        return extents;
    }

    /// <summary>Asserts that <c>xfs_repair -n</c> finds <paramref name="copy"/> sound and that, mounted read-only, it
    /// holds every file with its hash.</summary>
    public void AssertCopyIsComplete(string copy, ScratchDirectory scratch)
    {
        AssertRepairFindsNothing(copy);
        if (SuperblockField(copy, "versionnum").EndsWith('4'))
        {
            Assert.Equal(Files, HashThroughBlockMaps(copy, Files.Keys));
            return;
        }
        using var mount = XfsMount.Mount(scratch, copy, readOnly: true);
        var found = HashTree(mount.Directory);
        Assert.Equal(Files.Count, found.Count);
        foreach (var (file, hash) in Files)
        {
            Assert.True(found.TryGetValue(file, out string? copied), $"{file} is missing from the copy");
            Assert.True(hash == copied, $"{file} differs in the copy");
        }
    }

    /// <summary>Asserts that <c>xfs_repair -n</c> (no modify) finds nothing to repair in <paramref name="image"/>.</summary>
    public static void AssertRepairFindsNothing(string image)
    {
        var repair = ExternalTool.RunUnchecked("xfs_repair", null, "-n", "-f", image);
        Assert.True(repair.ExitCode == 0, $"xfs_repair -n failed ({repair.ExitCode}):\n{repair.StandardOutput}\n{repair.StandardError}");
    }

    /// <summary>One superblock field as xfs_db prints it (<c>xfs_db -r -c "sb 0" -c "p FIELD"</c>).</summary>
    public static string SuperblockField(string image, string field) => DbField(image, "sb 0", field);

    /// <summary>One field of a structure xfs_db can select, e.g. ("agf 3", "freeblks").</summary>
    public static string DbField(string image, string select, string field)
    {
        string output = ExternalTool.Run("xfs_db", "-r", "-f", "-c", select, "-c", $"p {field}", image);
        string prefix = field + " = ";
        string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line?[prefix.Length..].Trim() ?? throw new InvalidOperationException($"xfs_db prints no {field}:\n{output}");
    }

    /// <summary>sha256 of every regular file under <paramref name="root"/>, by path relative to it.</summary>
    public static Dictionary<string, string> HashTree(string root)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(root, "*", new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
        }))
        {
            using var stream = File.OpenRead(file);
            hashes[System.IO.Path.GetRelativePath(root, file)] = Convert.ToHexString(SHA256.HashData(stream));
        }
        return hashes;
    }

    private static void Fill(string root, IReadOnlyList<string> realTrees, long randomBytes, int seed)
    {
        foreach (string tree in realTrees.Where(Directory.Exists))
        {
            // cp -a keeps symlinks as links; HashTree skips them, so they need not resolve inside the image.
            ExternalTool.Run("cp", "-a", tree, System.IO.Path.Combine(root, System.IO.Path.GetFileName(tree)));
        }
        var random = new Random(seed);
        string dir = Directory.CreateDirectory(System.IO.Path.Combine(root, "random")).FullName;
        // Sizes around block boundaries, small files that may live in the inode, and large ones with many extents.
        long[] sizes = [0, 1, 511, 4095, 4097, 65536, 70000, 300_000, randomBytes / 3, randomBytes / 4, randomBytes / 5, 12_345];
        var buffer = new byte[1 << 20];
        for (int i = 0; i < sizes.Length; i++)
        {
            using var stream = File.Create(System.IO.Path.Combine(dir, $"file{i:D2}"));
            for (long done = 0; done < sizes[i];)
            {
                int chunk = (int)Math.Min(buffer.Length, sizes[i] - done);
                random.NextBytes(buffer.AsSpan(0, chunk));
                stream.Write(buffer, 0, chunk);
                done += chunk;
            }
        }
        // Deleted: their blocks go back to the free-space trees but keep their bytes.
        foreach (int i in new[] { 3, 8, 10 })
        {
            File.Delete(System.IO.Path.Combine(dir, $"file{i:D2}"));
        }
        string? firstTree = realTrees.Select(tree => System.IO.Path.Combine(root, System.IO.Path.GetFileName(tree)))
            .FirstOrDefault(Directory.Exists);
        if (firstTree is not null)
        {
            foreach (string sub in Directory.GetDirectories(firstTree).Order(StringComparer.Ordinal).Take(3))
            {
                Directory.Delete(sub, recursive: true);
            }
        }
    }
}

/// <summary>An XFS image mounted through a loop device (<c>mount -o loop</c>, which detaches the loop at unmount),
/// unmounted on Dispose.</summary>
public sealed class XfsMount : IDisposable
{
    private XfsMount(string directory) => Directory = directory;

    /// <summary>The mount point.</summary>
    public string Directory { get; }

    public static XfsMount Mount(ScratchDirectory scratch, string image, bool readOnly)
    {
        string directory = System.IO.Directory.CreateDirectory(scratch.File($"mnt-{Guid.NewGuid():N}")).FullName;
        ExternalTool.Run("mount", "-t", "xfs", "-o", readOnly ? "loop,ro" : "loop", image, directory);
        return new XfsMount(directory);
    }

    public void Dispose()
    {
        var result = ExternalTool.RunUnchecked("umount", null, Directory);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"umount {Directory} failed: {result.StandardError}");
        }
        System.IO.Directory.Delete(Directory);
    }
}
