using System.Security.Cryptography;
using LiveImager.Engine.Imaging;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>Clonezilla images made with the real partclone, sfdisk, sgdisk, dd, split and compressors
/// (scripts/make-clonezilla-image.sh, laid out as Clonezilla's ocs-functions does), restored by
/// <see cref="ClonezillaRestoreJob"/> onto files and checked with fsck and file hashes; damaged ones must fail clearly,
/// leaving the target untouched when the damage is found before writing.</summary>
public sealed class ClonezillaRestoreTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>The demo's GPT disk (make-test-disk.sh: FAT32, ext4, NTFS, swap, garbage), saved in 1 MiB pieces, restored
    /// onto a larger disk full of random bytes: check-test-disk.sh passes everything Clonezilla saves.</summary>
    [SkippableFact]
    public void DemoGptDisk_SplitZstd_PassesCheckTestDisk()
    {
        RequireTools();
        ExternalTool.Require("ntfsfix", "ntfs-3g");
        string disk = _scratch.File("demo.img");
        ExternalTool.Run("bash", RepositoryScripts.Path("make-test-disk.sh"), disk, "128M");
        string image = MakeImage(disk, "cz-demo", "--split", "1M");
        Assert.Contains("sda3.ntfs-ptcl-img.zst.ab", Directory.GetFiles(image).Select(Path.GetFileName));
        string target = _scratch.File("target.img");
        File.WriteAllBytes(target, RandomBytes(160 * MiB, 7));

        RestoreResult result = Restore(image, target);

        Assert.True(result.Succeeded, result.Targets[0].Message);
        Assert.Contains("GPT backup moved", result.Targets[0].Message);
        ToolResult check = ExternalTool.RunUnchecked("bash", null, RepositoryScripts.Path("check-test-disk.sh"), target, disk + ".manifest");
        var failed = check.StandardOutput.Split('\n').Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)).ToList();
        // Clonezilla saves no boot loader gap of a GPT disk (ocs-functions saves hidden data after the MBR of MBR disks
        // only), so that one check cannot pass from its image; every other one must.
        Assert.True(failed.All(l => l.Contains("gap:")), check.StandardOutput);
        Assert.Contains("ok    p3 ntfs: ntfsfix -n clean", check.StandardOutput);
        Assert.Contains("ok    p2 ext4: all", check.StandardOutput);
    }

    /// <summary>An MBR disk with logical partitions (FAT primary; ext4, raw and swap logical), in every compression
    /// Debian's partclone pipeline makes and with partclone's checksum variants.</summary>
    [SkippableTheory]
    [InlineData("zst")]
    [InlineData("gz", "--checksum", "0")]
    [InlineData("xz", "--blocks-per-checksum", "7", "--no-reseed")]
    [InlineData("lz4", "--blocks-per-checksum", "1")]
    [InlineData("uncomp", "--split", "300K")]
    public void MbrLogicalPartitions_RestoreByteForByte(string compression, params string[] options)
    {
        RequireTools();
        ExternalTool.Require(compression switch { "zst" => "zstd", "gz" => "gzip", "uncomp" => "cat", _ => compression }, compression);
        MbrDisk source = MbrDisk.Create(_scratch);
        string image = MakeImage(source.Path, "cz-mbr", ["--compress", compression, .. options]);
        string target = _scratch.SparseFile("target.img", MbrDisk.DiskBytes);

        RestoreResult result = Restore(image, target);

        Assert.True(result.Succeeded, result.Targets[0].Message);
        source.AssertRestored(target, _scratch);
    }

    /// <summary>convert writes our image with the partclone bitmaps as used maps and verifies it, at the level and in the
    /// volumes asked for; restoring that image gives the same disk as restoring the Clonezilla one.</summary>
    [SkippableFact]
    public void Convert_ThenRestoreOurImage_SameDisk()
    {
        RequireTools();
        MbrDisk source = MbrDisk.Create(_scratch);
        string image = MakeImage(source.Path, "cz-mbr", "--compress", "gz", "--split", "200K");
        string converted = _scratch.File("converted.lim");

        ConvertResult result = new ClonezillaConvertJob(new ConvertOptions(image, converted, Level: 1, SplitBytes: 4 * MiB))
            .Run(CancellationToken.None);

        Assert.True(result.Verified.Frames > 0);
        Assert.True(File.Exists(converted + ".002"), "a 4 MiB split made no second volume");
        Assert.All(Directory.GetFiles(_scratch.Path, "converted.lim*"), volume => Assert.True(new FileInfo(volume).Length <= 4 * MiB, volume));
        ImageMetadata metadata = result.Verified.Metadata;
        Assert.Equal(1, metadata.Compression?.HighestLevel);
        Assert.Equal("mbr", metadata.Table.Kind);
        Assert.Equal([1, 5, 6, 7], metadata.Partitions.Select(p => p.Number));
        Assert.Equal(["vfat", "ext4", "dd", "swap"], metadata.Partitions.Select(p => p.Filesystem));
        string fromLim = _scratch.SparseFile("from-lim.img", MbrDisk.DiskBytes);
        string fromClonezilla = _scratch.SparseFile("from-cz.img", MbrDisk.DiskBytes);
        Assert.True(new RestoreJob(new RestoreOptions(converted, [fromLim])).Run(CancellationToken.None).Succeeded);
        Assert.True(Restore(image, fromClonezilla).Succeeded);
        source.AssertRestored(fromLim, _scratch);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(fromClonezilla)), SHA256.HashData(File.ReadAllBytes(fromLim)));
    }

    /// <summary>The one image list (<see cref="ImageCatalog"/>) shows a Clonezilla directory beside our images, marked,
    /// with its disk and partitions; a half-copied one is listed with what is missing, never offered whole.</summary>
    [SkippableFact]
    public void Catalog_ListsClonezillaImagesBesideOurs()
    {
        RequireTools();
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        MakeImage(MbrDisk.Create(_scratch).Path, Path.Combine("store", "laptop-2026"), "--compress", "gz");
        string half = Directory.CreateDirectory(Path.Combine(store, "half")).FullName;
        File.WriteAllText(Path.Combine(half, "disk"), "sda\n");
        Directory.CreateDirectory(Path.Combine(store, "not-an-image"));

        IReadOnlyList<StoredImage> images = ImageCatalog.List(store);

        Assert.Equal(["half", "laptop-2026"], images.Select(i => i.Name));
        StoredImage image = images[1];
        Assert.Equal("clonezilla", image.Format);
        Assert.True(image.Restorable, image.Problem);
        Assert.Equal("/dev/sda", image.Metadata!.Source.Path);
        // An MBR image knows the disk only up to its last partition's end: here the extended one, to the end.
        Assert.Equal(MbrDisk.DiskBytes, image.Metadata.Source.SizeBytes);
        Assert.Equal(["1 vfat", "5 ext4", "6 dd", "7 swap"], image.Metadata.Partitions.Select(p => $"{p.Number} {p.Filesystem}"));
        Assert.False(images[0].Restorable);
        Assert.Contains("has no sda-pt.sf", images[0].Problem);
    }

    [SkippableFact]
    public void FlippedByteInABlock_FailsNamingPartitionBlockAndFile()
    {
        RequireTools();
        string image = MakeImage(MbrDisk.Create(_scratch).Path, "cz", "--compress", "uncomp");
        string file = Path.Combine(image, "sda5.ext4-ptcl-img.uncomp");
        byte[] stream = File.ReadAllBytes(file);
        // Past the header, the bitmap and its CRC: inside the first blocks' data.
        stream[^5000] ^= 0x40;
        File.WriteAllBytes(file, stream);
        string target = _scratch.SparseFile("target.img", MbrDisk.DiskBytes);

        var e = Assert.Throws<ImagingException>(() => Restore(image, target));

        Assert.IsType<DiskFormatException>(e.InnerException);
        Assert.Contains("sda5 in sda5.ext4-ptcl-img.uncomp", e.Message);
        Assert.Matches(@"CRC32 checksum [0-9A-F]{8} of blocks \d+\.\.\d+", e.Message);
        Assert.Contains("partly written", e.Message);
    }

    [SkippableTheory]
    [InlineData("bitmap", "partclone bitmap of sda5 in sda5.ext4-ptcl-img.uncomp: crc")]
    [InlineData("header", "partclone header of sda5 in sda5.ext4-ptcl-img.uncomp: crc")]
    public void FlippedByteBeforeTheBlocks_FailsBeforeAnyWrite(string where, string expected)
    {
        RequireTools();
        string image = MakeImage(MbrDisk.Create(_scratch).Path, "cz", "--compress", "uncomp");
        string file = Path.Combine(image, "sda5.ext4-ptcl-img.uncomp");
        byte[] stream = File.ReadAllBytes(file);
        stream[where == "header" ? 0x40 : 0x6E + 3] ^= 0x01;
        File.WriteAllBytes(file, stream);

        AssertRefusedUntouched(image, expected);
    }

    [SkippableFact]
    public void MissingMiddlePiece_FailsBeforeAnyWrite()
    {
        RequireTools();
        string image = MakeImage(MbrDisk.Create(_scratch).Path, "cz", "--split", "8K");
        Assert.True(File.Exists(Path.Combine(image, "sda5.ext4-ptcl-img.zst.ac")), "the split needs three pieces");
        File.Delete(Path.Combine(image, "sda5.ext4-ptcl-img.zst.ab"));

        AssertRefusedUntouched(image, "sda5: split piece .ab is missing");
    }

    [SkippableTheory]
    [InlineData("uncomp")]
    [InlineData("zst")]
    [InlineData("xz")]
    public void TruncatedStream_FailsClearly(string compression)
    {
        RequireTools();
        string image = MakeImage(MbrDisk.Create(_scratch).Path, "cz", "--compress", compression);
        string file = Path.Combine(image, $"sda5.ext4-ptcl-img.{compression}");
        byte[] stream = File.ReadAllBytes(file);
        File.WriteAllBytes(file, stream[..(stream.Length * 2 / 3)]);
        string target = _scratch.SparseFile("target.img", MbrDisk.DiskBytes);

        var e = Assert.Throws<ImagingException>(() => Restore(image, target));

        Assert.IsType<DiskFormatException>(e.InnerException);
        Assert.Contains("sda5", e.Message);
        Assert.Contains("partly written", e.Message);
    }

    [SkippableFact]
    public void NtfscloneImage_IsRefusedByName()
    {
        RequireTools();
        string image = MakeImage(MbrDisk.Create(_scratch).Path, "cz");
        File.Move(Path.Combine(image, "sda5.ext4-ptcl-img.zst"), Path.Combine(image, "sda5.ntfs-img.gz"));

        AssertRefusedUntouched(image, "sda5 was saved by ntfsclone (sda5.ntfs-img.gz), which this LiveImager does not read");
    }

    private void AssertRefusedUntouched(string image, string expected)
    {
        string target = _scratch.File("target.img");
        byte[] before = RandomBytes(MbrDisk.DiskBytes, 3);
        File.WriteAllBytes(target, before);

        var e = Assert.Throws<DiskFormatException>(() => Restore(image, target));

        Assert.Contains(expected, e.Message);
        Assert.Equal(SHA256.HashData(before), SHA256.HashData(File.ReadAllBytes(target)));
    }

    private static RestoreResult Restore(string image, string target) =>
        new ClonezillaRestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

    private string MakeImage(string disk, string name, params string[] options)
    {
        string image = _scratch.File(name);
        ExternalTool.Run("bash", [RepositoryScripts.Path("make-clonezilla-image.sh"), disk, image, .. options]);
        return image;
    }

    private static void RequireTools()
    {
        TestDisk.RequireTools();
        ExternalTool.Require("partclone.extfs", "partclone");
        ExternalTool.Require("zstd", "zstd");
    }

    private static byte[] RandomBytes(long length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A 64 MiB MBR disk: FAT primary, then an extended partition holding ext4 (1 KiB blocks, files), a raw
    /// partition of random bytes no partclone module takes, and a labelled swap.</summary>
    internal sealed class MbrDisk
    {
        public const long DiskBytes = 64 * MiB;
        private static readonly (long Start, long Size) s_fat = (1 * MiB, 8 * MiB);
        private static readonly (long Start, long Size) s_ext = (10 * MiB, 32 * MiB);
        private static readonly (long Start, long Size) s_raw = (43 * MiB, 8 * MiB);
        private static readonly (long Start, long Size) s_swap = (52 * MiB, 8 * MiB);

        private MbrDisk(string path, Dictionary<string, string> files, string rawHash, string swapUuid, string table)
        {
            Path = path;
            Files = files;
            RawHash = rawHash;
            SwapUuid = swapUuid;
            Table = table;
        }

        public string Path { get; }
        private Dictionary<string, string> Files { get; }
        private string RawHash { get; }
        private string SwapUuid { get; }
        private string Table { get; }

        public static MbrDisk Create(ScratchDirectory scratch)
        {
            string path = scratch.SparseFile("mbr.img", DiskBytes);
            ExternalTool.RunWithInput("sfdisk",
                "label: dos\n" +
                $"start={s_fat.Start / 512}, size={s_fat.Size / 512}, type=c\n" +
                $"start={9 * MiB / 512}, type=5\n" +
                $"start={s_ext.Start / 512}, size={s_ext.Size / 512}, type=83\n" +
                $"start={s_raw.Start / 512}, size={s_raw.Size / 512}, type=da\n" +
                $"start={s_swap.Start / 512}, size={s_swap.Size / 512}, type=82\n", "-q", path);
            string staged = Directory.CreateDirectory(scratch.File("mbr.files")).FullName;
            var random = new Random(2026_12_07);
            var files = new Dictionary<string, string>();
            for (int i = 0; i < 5; i++)
            {
                var bytes = new byte[150_000 * (i + 1)];
                random.NextBytes(bytes.AsSpan(0, bytes.Length / (i + 1)));
                File.WriteAllBytes(System.IO.Path.Combine(staged, $"f{i}.bin"), bytes);
                files[$"f{i}.bin"] = TestDisk.Sha256(bytes);
            }
            ExternalTool.Run("mkfs.ext4", "-q", "-F", "-b", "1024", "-E", $"offset={s_ext.Start}", "-d", staged, path, $"{s_ext.Size / 1024}k");
            ExternalTool.Run("mkfs.fat", $"--offset={s_fat.Start / 512}", path, $"{s_fat.Size / 1024}");
            foreach (string file in (string[])["f0.bin", "f2.bin"])
            {
                ExternalTool.Run("mcopy", "-i", $"{path}@@{s_fat.Start}", System.IO.Path.Combine(staged, file), $"::/{file}");
            }
            string swap = scratch.SparseFile("mbr.swap", s_swap.Size);
            ExternalTool.Run("mkswap", "-q", "-L", "czswap", swap);
            string swapUuid = ExternalTool.Run("blkid", "-p", "-o", "value", "-s", "UUID", swap).Trim();
            byte[] raw = RandomBytes(s_raw.Size, 11);
            using (var disk = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
            {
                disk.Position = s_raw.Start;
                disk.Write(raw);
                disk.Position = s_swap.Start;
                disk.Write(File.ReadAllBytes(swap).AsSpan(0, 4096));
            }
            return new MbrDisk(path, files, TestDisk.Sha256(raw), swapUuid, PartitionLines(path));
        }

        public void AssertRestored(string restored, ScratchDirectory scratch)
        {
            Assert.Equal(Table, PartitionLines(restored));
            string ext = Extract(restored, s_ext, scratch.File("ext.part"));
            ExternalTool.Run("e2fsck", "-fn", ext);
            foreach (var (file, hash) in Files)
            {
                string output = scratch.File("out-" + file);
                ExternalTool.Run("debugfs", "-R", $"dump /{file} {output}", ext);
                Assert.Equal(hash, TestDisk.Sha256(File.ReadAllBytes(output)));
            }
            string fat = Extract(restored, s_fat, scratch.File("fat.part"));
            if (ExternalTool.Exists("fsck.fat"))
            {
                ExternalTool.Run("fsck.fat", "-n", fat);
            }
            foreach (string file in (string[])["f0.bin", "f2.bin"])
            {
                string output = scratch.File("fat-" + file);
                ExternalTool.Run("mcopy", "-n", "-i", fat, $"::/{file}", output);
                Assert.Equal(Files[file], TestDisk.Sha256(File.ReadAllBytes(output)));
            }
            Assert.Equal(RawHash, TestDisk.Sha256(File.ReadAllBytes(Extract(restored, s_raw, scratch.File("raw.part")))));
            string swap = Extract(restored, s_swap, scratch.File("swap.part"));
            Assert.Equal(SwapUuid, ExternalTool.Run("blkid", "-p", "-o", "value", "-s", "UUID", swap).Trim());
            Assert.Equal("czswap", ExternalTool.Run("blkid", "-p", "-o", "value", "-s", "LABEL", swap).Trim());
        }

        /// <summary>The dump's partition lines without device names, and its label id.</summary>
        private static string PartitionLines(string disk) => string.Join("\n", ExternalTool.Run("sfdisk", "-d", disk).Split('\n')
            .Where(l => l.Contains(" : start=") || l.StartsWith("label-id:", StringComparison.Ordinal))
            .Select(l => l.Contains(" : ") ? l[l.IndexOf(" : ", StringComparison.Ordinal)..] : l));

        private static string Extract(string disk, (long Start, long Size) part, string destination)
        {
            using var input = File.OpenRead(disk);
            var buffer = new byte[part.Size];
            input.Position = part.Start;
            input.ReadExactly(buffer);
            File.WriteAllBytes(destination, buffer);
            return destination;
        }
    }
}
