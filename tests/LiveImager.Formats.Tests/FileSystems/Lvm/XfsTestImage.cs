using System.Security.Cryptography;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Lvm;

/// <summary>A small XFS made by mkfs.xfs and filled through a real mount with random files, some deleted again.</summary>
public sealed class XfsTestImage
{
    private XfsTestImage(string path, IReadOnlyDictionary<string, string> files)
    {
        Path = path;
        Files = files;
    }

    public string Path { get; }

    /// <summary>Each file left (path inside the filesystem) and its sha256.</summary>
    public IReadOnlyDictionary<string, string> Files { get; }

    /// <summary>An XFS of <paramref name="sizeMiB"/> MiB, or null when xfsprogs is not installed or this is not root.</summary>
    public static XfsTestImage? CreateIfPossible(ScratchDirectory scratch, long sizeMiB)
    {
        if (!ExternalTool.Exists("mkfs.xfs") || !ExternalTool.Exists("xfs_repair") || !Privileges.IsRoot)
        {
            return null;
        }
        string path = scratch.SparseFile("xfs.img", sizeMiB << 20);
        // mkfs.xfs refuses filesystems under 300 MB unless it runs under fstests, which these variables announce.
        ExternalTool.Run("env", "TEST_DIR=/tmp", "TEST_DEV=/dev/null", "QA_CHECK_FS=1", "mkfs.xfs", "-q", "-f", path);
        var files = new Dictionary<string, string>();
        string mount = Directory.CreateDirectory(scratch.File("xfs-mnt")).FullName;
        ExternalTool.Run("mount", "-o", "loop", path, mount);
        try
        {
            var random = new Random(11);
            foreach (int size in new[] { 0, 1, 4095, 4097, 70_000, 3 << 20, 5 << 20, 123_456 })
            {
                var data = new byte[size];
                random.NextBytes(data);
                string name = $"/file{files.Count:D2}";
                File.WriteAllBytes(mount + name, data);
                files[name] = Convert.ToHexString(SHA256.HashData(data));
            }
            File.Delete(mount + "/file05");
            files.Remove("/file05");
        }
        finally
        {
            ExternalTool.Run("umount", mount);
        }
        return new XfsTestImage(path, files);
    }

    /// <summary>Asserts that xfs_repair -n finds <paramref name="copy"/> sound and every file reads back unchanged.</summary>
    public void AssertCopyIsComplete(string copy, ScratchDirectory scratch)
    {
        var repair = ExternalTool.RunUnchecked("xfs_repair", null, "-n", "-f", copy);
        Assert.True(repair.ExitCode == 0, $"xfs_repair -n failed ({repair.ExitCode}):\n{repair.StandardOutput}\n{repair.StandardError}");
        string mount = Directory.CreateDirectory(scratch.File("xfs-copy-mnt")).FullName;
        ExternalTool.Run("mount", "-o", "loop,ro,norecovery", copy, mount);
        try
        {
            foreach (var (file, hash) in Files)
            {
                Assert.Equal(hash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(mount + file))));
            }
        }
        finally
        {
            ExternalTool.Run("umount", mount);
        }
    }
}
