using System.Security.Cryptography;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>A 64 MiB disk image file made with the real tools: an EFI FAT partition with files, an ext4 partition with
/// files (mkfs.ext4 -d), a partition of random bytes no module knows, a swap partition, and unpartitioned garbage.</summary>
public sealed class TestDisk
{
    public const long DiskBytes = 64L << 20;
    private const long MiB = 1 << 20;

    /// <summary>(number, start, size, kind) of each partition.</summary>
    public static readonly (int Number, long Start, long Size, string Kind)[] Layout =
    [
        (1, 1 * MiB, 8 * MiB, "fat"),
        (2, 9 * MiB, 32 * MiB, "ext4"),
        (3, 41 * MiB, 8 * MiB, "unknown"),
        (4, 49 * MiB, 4 * MiB, "swap"),
    ];

    private TestDisk(string path, string table, Dictionary<string, string> extFiles, Dictionary<string, string> fatFiles, string unknownHash)
    {
        Path = path;
        Table = table;
        ExtFiles = extFiles;
        FatFiles = fatFiles;
        UnknownHash = unknownHash;
    }

    public string Path { get; }

    /// <summary>"gpt" or "dos".</summary>
    public string Table { get; }

    /// <summary>ext4 file name → sha256.</summary>
    public Dictionary<string, string> ExtFiles { get; }

    /// <summary>FAT file name → sha256.</summary>
    public Dictionary<string, string> FatFiles { get; }

    /// <summary>sha256 of the whole unknown partition, which must come back byte for byte.</summary>
    public string UnknownHash { get; }

    /// <summary>Skips the test unless the tools that make and check the disk are here.</summary>
    public static void RequireTools()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("sgdisk", "gdisk");
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        ExternalTool.Require("debugfs", "e2fsprogs");
        ExternalTool.Require("mkfs.fat", "dosfstools");
        ExternalTool.Require("mcopy", "mtools");
        ExternalTool.Require("mkswap", "util-linux");
    }

    public static TestDisk Create(ScratchDirectory scratch, string table, string name = "source.img")
    {
        RequireTools();
        string path = scratch.SparseFile(name, DiskBytes);
        string script = table == "gpt"
            ? "label: gpt\n" +
              "start=2048, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n" +
              "start=18432, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n" +
              "start=83968, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n" +
              "start=100352, size=8192, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F\n"
            : "label: dos\nstart=2048, size=16384, type=ef\nstart=18432, size=65536, type=83\nstart=83968, size=16384, type=da\nstart=100352, size=8192, type=82\n";
        ExternalTool.RunWithInput("sfdisk", script, "-q", path);

        // A fixed seed: the same bytes on every run and in every process (string hashes differ per process).
        var random = new Random(2026_11_20);
        string files = Directory.CreateDirectory(scratch.File($"{name}.files")).FullName;
        var extFiles = new Dictionary<string, string>();
        for (int i = 0; i < 6; i++)
        {
            var bytes = new byte[100_000 * (i + 1)];
            if (i % 2 == 0)
            {
                random.NextBytes(bytes);
            }
            else
            {
                for (int b = 0; b < bytes.Length; b++)
                {
                    bytes[b] = (byte)("liveimager test text " + i)[b % 22];
                }
            }
            string file = System.IO.Path.Combine(files, $"file{i}.bin");
            File.WriteAllBytes(file, bytes);
            extFiles[$"file{i}.bin"] = Sha256(bytes);
        }
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-E", $"offset={Layout[1].Start}", "-d", files, path, $"{Layout[1].Size / 1024}k");
        ExternalTool.Run("mkfs.fat", $"--offset={Layout[0].Start / 512}", path, $"{Layout[0].Size / 1024}");
        var fatFiles = new Dictionary<string, string>();
        foreach (string file in new[] { "file0.bin", "file1.bin" })
        {
            ExternalTool.Run("mcopy", "-i", $"{path}@@{Layout[0].Start}", System.IO.Path.Combine(files, file), $"::/{file}");
            fatFiles[file] = extFiles[file];
        }
        string swap = scratch.SparseFile($"{name}.swap", Layout[3].Size);
        ExternalTool.Run("mkswap", "-q", swap);

        using (var disk = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            var unknown = new byte[Layout[2].Size];
            random.NextBytes(unknown.AsSpan(0, (int)(Layout[2].Size / 2)));
            disk.Position = Layout[2].Start;
            disk.Write(unknown);
            disk.Position = Layout[3].Start;
            disk.Write(File.ReadAllBytes(swap));
            // Garbage where no partition is: not copied, and not expected back.
            var garbage = new byte[1 << 20];
            random.NextBytes(garbage);
            disk.Position = 60 * MiB;
            disk.Write(garbage);
            return new TestDisk(path, table, extFiles, fatFiles, Sha256(unknown));
        }
    }

    /// <summary>Checks a restored disk: the table (sgdisk -v for GPT), fsck of ext4 and FAT, every file's hash, the
    /// unknown partition byte for byte, and the swap signature.</summary>
    public void AssertRestored(string restored, ScratchDirectory scratch)
    {
        if (Table == "gpt")
        {
            string verify = ExternalTool.Run("sgdisk", "-v", restored);
            Assert.Contains("No problems found", verify);
        }
        string dump = ExternalTool.Run("sfdisk", "-d", restored);
        foreach (var (number, start, size, _) in Layout)
        {
            Assert.Contains($"start={start / 512,12}, size={size / 512,12}", dump);
            _ = number;
        }
        string ext = Extract(restored, Layout[1].Start, Layout[1].Size, scratch.File("ext4.part"));
        ExternalTool.Run("e2fsck", "-fn", ext);
        foreach (var (file, hash) in ExtFiles)
        {
            string output = scratch.File("out-" + file);
            ExternalTool.Run("debugfs", "-R", $"dump /{file} {output}", ext);
            Assert.Equal(hash, Sha256(File.ReadAllBytes(output)));
        }
        string fat = Extract(restored, Layout[0].Start, Layout[0].Size, scratch.File("fat.part"));
        if (ExternalTool.Exists("fsck.fat"))
        {
            ExternalTool.Run("fsck.fat", "-n", fat);
        }
        foreach (var (file, hash) in FatFiles)
        {
            string output = scratch.File("fat-" + file);
            ExternalTool.Run("mcopy", "-n", "-i", fat, $"::/{file}", output);
            Assert.Equal(hash, Sha256(File.ReadAllBytes(output)));
        }
        using var disk = File.OpenRead(restored);
        var unknown = new byte[Layout[2].Size];
        disk.Position = Layout[2].Start;
        disk.ReadExactly(unknown);
        Assert.Equal(UnknownHash, Sha256(unknown));
        var swapMagic = new byte[10];
        disk.Position = Layout[3].Start + 4096 - 10;
        disk.ReadExactly(swapMagic);
        Assert.Equal("SWAPSPACE2", System.Text.Encoding.ASCII.GetString(swapMagic));
    }

    private static string Extract(string disk, long start, long size, string destination)
    {
        using var input = File.OpenRead(disk);
        using var output = File.Create(destination);
        input.Position = start;
        var buffer = new byte[size];
        input.ReadExactly(buffer);
        output.Write(buffer);
        return destination;
    }

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes));
}
