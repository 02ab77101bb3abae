using System.Buffers.Binary;
using System.Security.Cryptography;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Ext;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Ext;

/// <summary>An ext filesystem made by mke2fs on a sparse file, filled with random files, some deleted again so that
/// free space holds stale data.</summary>
public sealed class ExtTestImage
{
    /// <summary>Files deleted with debugfs after mke2fs -d wrote them: their blocks are free but not zero.</summary>
    private static readonly string[] s_deleted = ["/file03", "/dir/file07", "/file09"];

    private ExtTestImage(string path, IReadOnlyDictionary<string, string> files)
    {
        Path = path;
        Files = files;
    }

    /// <summary>The image file.</summary>
    public string Path { get; }

    /// <summary>Every file left in the filesystem (absolute path inside it) and its sha256.</summary>
    public IReadOnlyDictionary<string, string> Files { get; }

    /// <summary>Skips the test unless e2fsprogs is installed.</summary>
    public static void RequireTools()
    {
        ExternalTool.Require("mke2fs", "e2fsprogs");
        ExternalTool.Require("debugfs", "e2fsprogs");
        ExternalTool.Require("e2fsck", "e2fsprogs");
    }

    /// <summary>Runs <c>mke2fs ARGS -d DIR FILE SIZE</c> with about <paramref name="dataBytes"/> bytes of random files,
    /// then deletes a few of them.</summary>
    public static ExtTestImage Create(ScratchDirectory scratch, string name, string mke2fsArgs, long sizeMiB,
        long dataBytes = 6 << 20)
    {
        string source = scratch.File(name + "-files");
        var files = WriteRandomFiles(source, dataBytes, seed: name.Length);
        string path = scratch.SparseFile(name + ".img", sizeMiB << 20);
        ExternalTool.Run("mke2fs", [.. mke2fsArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            "-q", "-F", "-L", "li-" + name[..Math.Min(name.Length, 10)], "-d", source, path]);
        Debugfs(path, write: true, s_deleted.Select(file => $"rm {file}"));
        foreach (string file in s_deleted)
        {
            files.Remove(file);
        }
        Directory.Delete(source, recursive: true);
        return new ExtTestImage(path, files);
    }

    /// <summary>Runs debugfs commands on <paramref name="image"/>, one per line, and returns what it printed.</summary>
    public static string Debugfs(string image, bool write, IEnumerable<string> commands)
    {
        var args = write ? new[] { "-w", "-f", "-", image } : ["-f", "-", image];
        return ExternalTool.RunWithInput("debugfs", string.Join('\n', commands) + "\n", args);
    }

    /// <summary>Analyses the image (or the partition of it at <paramref name="offset"/>) as the detector would.</summary>
    public static FileSystemAnalysis Analyze(string path, long offset = 0, long length = -1) =>
        ImageAnalysis.Analyze(path, offset, length);

    /// <summary>Asserts that e2fsck finds <paramref name="copy"/> sound and that every file reads back unchanged.</summary>
    public void AssertCopyIsComplete(string copy, ScratchDirectory scratch)
    {
        var fsck = ExternalTool.RunUnchecked("e2fsck", null, "-fn", copy);
        Assert.True(fsck.ExitCode == 0, $"e2fsck -fn failed ({fsck.ExitCode}):\n{fsck.StandardOutput}\n{fsck.StandardError}");
        string dumps = scratch.File("dumps");
        Directory.CreateDirectory(dumps);
        var outputs = Files.Keys.ToDictionary(file => file, file => System.IO.Path.Combine(dumps, file.Replace('/', '_')));
        Debugfs(copy, write: false, outputs.Select(pair => $"dump {pair.Key} {pair.Value}"));
        foreach (var (file, hash) in Files)
        {
            Assert.True(File.Exists(outputs[file]), $"debugfs could not dump {file} from the copy");
            Assert.Equal(hash, Sha256(outputs[file]));
        }
        Directory.Delete(dumps, recursive: true);
    }

    /// <summary>Overwrites bytes of the primary superblock at <paramref name="fieldOffset"/> and, when the filesystem
    /// has metadata_csum, rewrites s_checksum so that only the patched field is wrong.</summary>
    public static void PatchSuperblock(string image, int fieldOffset, ReadOnlySpan<byte> value, bool fixChecksum = true)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var superblock = new byte[ExtSuperblock.Size];
        stream.Position = ExtSuperblock.Offset;
        stream.ReadExactly(superblock);
        value.CopyTo(superblock.AsSpan(fieldOffset));
        uint roCompat = BinaryPrimitives.ReadUInt32LittleEndian(superblock.AsSpan(ExtSuperblock.FeatureRoCompatOffset));
        if (fixChecksum && (roCompat & ExtFeatures.RoCompatMetadataCsum) != 0)
        {
            uint crc = ExtChecksums.Crc32C(uint.MaxValue, superblock.AsSpan(0, ExtSuperblock.ChecksumOffset));
            BinaryPrimitives.WriteUInt32LittleEndian(superblock.AsSpan(ExtSuperblock.ChecksumOffset), crc);
        }
        stream.Position = ExtSuperblock.Offset;
        stream.Write(superblock);
    }

    /// <summary>A 32-bit little-endian value, for <see cref="PatchSuperblock"/>.</summary>
    public static byte[] UInt32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }

    /// <summary>A field of <c>dumpe2fs -h</c>, such as "Free blocks".</summary>
    public static string SuperblockField(string image, string field)
    {
        string output = ExternalTool.Run("dumpe2fs", "-h", image);
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return line[(field.Length + 1)..].Trim();
            }
        }
        throw new InvalidOperationException($"dumpe2fs -h {image} prints no '{field}'");
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    private static Dictionary<string, string> WriteRandomFiles(string root, long totalBytes, int seed)
    {
        var random = new Random(seed);
        Directory.CreateDirectory(System.IO.Path.Combine(root, "dir"));
        var files = new Dictionary<string, string>();
        // Sizes around block boundaries, small files, and a few large ones that need indirect or extent tree blocks.
        long[] sizes = [0, 1, 1023, 1024, 4095, 4097, 65536, 70000, totalBytes / 4, totalBytes / 3, 300_000, 12_345, totalBytes / 5];
        for (int i = 0; i < sizes.Length; i++)
        {
            string relative = i % 3 == 1 ? $"/dir/file{i:D2}" : $"/file{i:D2}";
            string path = root + relative;
            var data = new byte[sizes[i]];
            random.NextBytes(data);
            File.WriteAllBytes(path, data);
            files[relative] = Convert.ToHexString(SHA256.HashData(data));
        }
        return files;
    }
}
