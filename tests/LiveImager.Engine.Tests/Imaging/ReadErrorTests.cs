using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>Captures of a disk with unreadable sectors (issue 17), on a real failing block device: <see cref="FailingDisk"/>
/// (nbdkit's ddrescue filter → nbdfuse → a direct-I/O loop device), so the kernel returns EIO for the chosen sectors.</summary>
public sealed class ReadErrorTests : IDisposable
{
    private const int Sector = 512;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void WithoutRescueAReadErrorStopsWithThePositionAndNoImageIsKept()
    {
        FailingDisk.Require();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        long bad = ExtFileByte(disk, "file3.bin", 1);
        string image = _scratch.File("disk.lim");
        using var failing = FailingDisk.Create(disk.Path, [(bad, Sector)], _scratch.Path);

        var e = Assert.Throws<UnreadableSectorException>(() => new CaptureJob(new CaptureOptions(failing.Path, image)).Run(CancellationToken.None));

        Assert.Equal(bad, e.Position);
        long inPartition = bad - TestDisk.Layout[1].Start;
        Assert.StartsWith($"{failing.Path}: sector {bad / Sector} (byte {bad}) cannot be read, in partition 2 (ext4, byte {inPartition} of the partition): ", e.Message);
        Assert.Contains("Input/output error", e.Message);
        Assert.EndsWith("capture again with --rescue to copy what can be read and record what cannot. No image was kept", e.Message);
        Assert.False(File.Exists(image));
        Assert.False(File.Exists(image + ".partial"));
    }

    [SkippableFact]
    public void AnUnreadableSectorInFreeSpaceIsNeverAnError()
    {
        FailingDisk.Require();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        long bad = ExtFreeByte(disk);
        string image = _scratch.File("disk.lim");
        using (var failing = FailingDisk.Create(disk.Path, [(bad, Sector)], _scratch.Path))
        {
            new CaptureJob(new CaptureOptions(failing.Path, image)).Run(CancellationToken.None);
        }
        string target = _scratch.SparseFile("restored.img", TestDisk.DiskBytes);

        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

        Assert.True(restored.Succeeded, restored.Targets[0].Message);
        disk.AssertRestored(target, _scratch);
    }

    [SkippableFact]
    public void RescueCaptureOfABadSectorInsideAnExt4FileRecordsItAndRestoresZeros()
    {
        FailingDisk.Require();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        long bad = ExtFileByte(disk, "file3.bin", 1);
        string image = _scratch.File("disk.lim");
        var progress = new List<ImagingProgress>();
        CaptureResult captured;
        using (var failing = FailingDisk.Create(disk.Path, [(bad, Sector)], _scratch.Path))
        {
            var capture = new CaptureJob(new CaptureOptions(failing.Path, image, Rescue: new RescuePolicy()));
            capture.Progress += progress.Add;
            captured = capture.Run(CancellationToken.None);
        }
        string target = _scratch.SparseFile("restored.img", TestDisk.DiskBytes);

        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);
        VerifyResult verified = new VerifyJob(new VerifyOptions(image)).Run(CancellationToken.None);

        Assert.Equal([new BadRange(bad, Sector)], captured.BadRanges!);
        using (var file = new ImageFile(File.OpenRead(image)))
        {
            Assert.Equal(ImageHeader.CurrentVersion, file.Header.Version);
            Assert.Equal([new BadRange(bad, Sector)], file.Record!.BadRanges);
            // debugfs icheck/ncheck named the file whose block is unreadable, from the block's start.
            long blockStart = TestDisk.Layout[1].Start + (bad - TestDisk.Layout[1].Start) / ExtBlockSize(ExtPartition(disk)) * ExtBlockSize(ExtPartition(disk));
            Assert.Equal([new AffectedFile(2, "/file3.bin", blockStart)], file.Record.Files);
        }
        Assert.Equal([new BadRange(bad, Sector)], restored.BadRanges!);
        Assert.Equal([new BadRange(bad, Sector)], verified.BadRanges!);
        Assert.Equal((1, (long)Sector), (progress[^1].BadAreas, progress[^1].UnreadableBytes));
        Assert.True(restored.Succeeded, restored.Targets[0].Message);
        Assert.Equal(new byte[Sector], ReadBytes(target, bad, Sector));
        Assert.NotEqual(new byte[Sector], ReadBytes(disk.Path, bad, Sector));
        // The filesystem is whole; only file3.bin lost a sector.
        string ext = Extract(target, TestDisk.Layout[1].Start, TestDisk.Layout[1].Size, _scratch.File("restored.ext4"));
        ExternalTool.Run("e2fsck", "-fn", ext);
        foreach (var (name, hash) in disk.ExtFiles)
        {
            string output = _scratch.File("out-" + name);
            ExternalTool.Run("debugfs", "-R", $"dump /{name} {output}", ext);
            if (name == "file3.bin")
            {
                Assert.NotEqual(hash, TestDisk.Sha256(File.ReadAllBytes(output)));
            }
            else
            {
                Assert.Equal(hash, TestDisk.Sha256(File.ReadAllBytes(output)));
            }
        }
    }

    [SkippableFact]
    public void RescueSkipsAheadThroughA1MiBBadArea()
    {
        FailingDisk.Require();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        // Inside the partition no module knows (copied whole, random bytes), 64 KiB-aligned.
        long bad = TestDisk.Layout[2].Start + (2 << 20);
        const int BadLength = 1 << 20;
        string image = _scratch.File("disk.lim");
        CaptureResult captured;
        using (var failing = FailingDisk.Create(disk.Path, [(bad, BadLength)], _scratch.Path))
        {
            captured = new CaptureJob(new CaptureOptions(failing.Path, image, Rescue: new RescuePolicy())).Run(CancellationToken.None);
        }
        string target = _scratch.SparseFile("restored.img", TestDisk.DiskBytes);

        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

        // Each 64 KiB piece fails whole, 8 sectors fail in a row, and the rest of the piece is recorded unread.
        Assert.Equal([new BadRange(bad, BadLength)], captured.BadRanges!);
        Assert.True(restored.Succeeded, restored.Targets[0].Message);
        byte[] source = ReadBytes(disk.Path, TestDisk.Layout[2].Start, (int)TestDisk.Layout[2].Size);
        byte[] back = ReadBytes(target, TestDisk.Layout[2].Start, (int)TestDisk.Layout[2].Size);
        source.AsSpan((int)(bad - TestDisk.Layout[2].Start), BadLength).Clear();
        Assert.True(source.AsSpan().SequenceEqual(back), "partition 3 differs from its source outside the bad area");
    }

    [SkippableFact]
    public void AnUnreadablePrimaryGptHeaderIsReplacedByTheBackupWithAWarning()
    {
        FailingDisk.Require();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        CaptureResult captured;
        using (var failing = FailingDisk.Create(disk.Path, [(Sector, Sector)], _scratch.Path))
        {
            captured = new CaptureJob(new CaptureOptions(failing.Path, image, Rescue: new RescuePolicy())).Run(CancellationToken.None);
        }
        string target = _scratch.SparseFile("restored.img", TestDisk.DiskBytes);

        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);
        VerifyResult verified = new VerifyJob(new VerifyOptions(image)).Run(CancellationToken.None);

        Assert.Equal([new BadRange(Sector, Sector)], captured.BadRanges!);
        string warning = Assert.Single(verified.Metadata.Table.Warnings);
        Assert.StartsWith($"GPT primary header or entries are damaged; the backup at sector {TestDisk.DiskBytes / Sector - 1} was used: " +
            "disk: sector = 1 at byte 512: cannot be read", warning);
        Assert.Equal(4, verified.Metadata.Partitions.Count);
        Assert.True(restored.Succeeded, restored.Targets[0].Message);
        // The primary header is zeros on the restored disk (it was never read); the backup and every partition are whole.
        Assert.Equal(new byte[Sector], ReadBytes(target, Sector, Sector));
        var check = ExternalTool.RunUnchecked("sgdisk", null, "-v", target);
        Assert.Contains("invalid main GPT header, but valid backup", check.StandardOutput + check.StandardError);
        string ext = Extract(target, TestDisk.Layout[1].Start, TestDisk.Layout[1].Size, _scratch.File("restored.ext4"));
        ExternalTool.Run("e2fsck", "-fn", ext);
        foreach (var (name, hash) in disk.ExtFiles)
        {
            string output = _scratch.File("out-" + name);
            ExternalTool.Run("debugfs", "-R", $"dump /{name} {output}", ext);
            Assert.Equal(hash, TestDisk.Sha256(File.ReadAllBytes(output)));
        }
    }

    [SkippableFact]
    public void RescueCaptureOfA1MiBBadAreaInNtfsDataNamesTheFile()
    {
        FailingDisk.Require();
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("ntfs-3g", "ntfs-3g");
        ExternalTool.Require("ntfscluster", "ntfs-3g");
        ExternalTool.Require("ntfscat", "ntfs-3g");
        const long PartitionStart = 1 << 20, PartitionSize = 24 << 20;
        const int BadLength = 1 << 20;
        string partition = _scratch.SparseFile("ntfs.part", PartitionSize);
        ExternalTool.Run("mkntfs", "-F", "-Q", "-q", partition);
        var big = new byte[4 << 20];
        new Random(17).NextBytes(big);
        string mount = Directory.CreateDirectory(_scratch.File("ntfs-mount")).FullName;
        ExternalTool.Run("ntfs-3g", partition, mount);
        try
        {
            File.WriteAllBytes(Path.Combine(mount, "big.bin"), big);
            Directory.CreateDirectory(Path.Combine(mount, "docs"));
            File.WriteAllText(Path.Combine(mount, "docs", "small.txt"), "kept whole");
        }
        finally
        {
            ExternalTool.Run("umount", mount);
        }
        string diskPath = _scratch.SparseFile("ntfs-disk.img", 32 << 20);
        ExternalTool.RunWithInput("sfdisk", $"label: gpt\nstart={PartitionStart / Sector}, size={PartitionSize / Sector}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n", "-q", diskPath);
        byte[] partitionBytes = File.ReadAllBytes(partition);
        using (var disk = new FileStream(diskPath, FileMode.Open, FileAccess.Write))
        {
            disk.Position = PartitionStart;
            disk.Write(partitionBytes);
        }
        // big.bin's data, found by its random bytes; the bad area is 1 MiB of it, 64 KiB-aligned on the disk.
        long fileStart = PartitionStart + partitionBytes.AsSpan().IndexOf(big.AsSpan(0, 4096));
        long bad = (fileStart + (1 << 20)) / 65536 * 65536 + 65536;
        string image = _scratch.File("ntfs.lim");
        CaptureResult captured;
        using (var failing = FailingDisk.Create(diskPath, [(bad, BadLength)], _scratch.Path))
        {
            failing.ScanPartitions();
            captured = new CaptureJob(new CaptureOptions(failing.Path, image, Rescue: new RescuePolicy())).Run(CancellationToken.None);
        }
        string target = _scratch.SparseFile("restored.img", 32 << 20);

        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

        Assert.Equal([new BadRange(bad, BadLength)], captured.BadRanges!);
        Assert.Equal([new AffectedFile(1, "/big.bin", bad)], captured.Record!.Files);
        Assert.True(restored.Succeeded, restored.Targets[0].Message);
        string back = Extract(target, PartitionStart, PartitionSize, _scratch.File("restored.part"));
        ExternalTool.Run("ntfsfix", "-n", back);
        Assert.Equal("kept whole", ExternalTool.Run("ntfscat", back, "/docs/small.txt"));
        byte[] expected = (byte[])big.Clone();
        expected.AsSpan((int)(bad - fileStart), BadLength).Clear();
        string restoredBig = _scratch.File("big.back");
        File.WriteAllBytes(restoredBig, []);
        var cat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ntfscat", [back, "/big.bin"]) { RedirectStandardOutput = true })!;
        using (var output = File.Create(restoredBig))
        {
            cat.StandardOutput.BaseStream.CopyTo(output);
        }
        cat.WaitForExit();
        Assert.Equal(TestDisk.Sha256(expected), TestDisk.Sha256(File.ReadAllBytes(restoredBig)));
    }

    private static byte[] ReadBytes(string path, long offset, int length)
    {
        using var stream = File.OpenRead(path);
        stream.Position = offset;
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static string Extract(string disk, long start, long size, string destination)
    {
        File.WriteAllBytes(destination, ReadBytes(disk, start, (int)size));
        return destination;
    }

    /// <summary>The disk byte offset of block <paramref name="blockIndex"/> of an ext4 file, by debugfs's bmap.</summary>
    internal static long ExtFileByte(TestDisk disk, string file, int blockIndex)
    {
        string ext = ExtPartition(disk);
        long block = long.Parse(ExternalTool.Run("debugfs", "-R", $"bmap /{file} {blockIndex}", ext).Trim());
        return TestDisk.Layout[1].Start + block * ExtBlockSize(ext);
    }

    /// <summary>The disk byte offset of the middle of the longest run of ext4 blocks the capture's own analysis
    /// proves free (what a capture never reads).</summary>
    internal static long ExtFreeByte(TestDisk disk)
    {
        var map = ImageAnalysis.Analyze(disk.Path, TestDisk.Layout[1].Start, TestDisk.Layout[1].Size).Map;
        long bestStart = 0, bestLength = 0, runStart = 0;
        for (long block = 0; block <= map.BlockCount; block++)
        {
            if (block < map.BlockCount && !map.IsUsed(block))
            {
                continue;
            }
            if (block - runStart > bestLength)
            {
                (bestStart, bestLength) = (runStart, block - runStart);
            }
            runStart = block + 1;
        }
        Assert.True(bestLength > 0, "the test disk's ext4 has no free block");
        return TestDisk.Layout[1].Start + (bestStart + bestLength / 2) * map.BlockSize;
    }

    private static long ExtBlockSize(string ext)
    {
        string header = ExternalTool.Run("dumpe2fs", "-h", ext);
        string line = header.Split('\n').First(l => l.StartsWith("Block size:", StringComparison.Ordinal));
        return long.Parse(line.Split(':')[1].Trim());
    }

    private static string ExtPartition(TestDisk disk)
    {
        string ext = disk.Path + ".ext4";
        if (!File.Exists(ext))
        {
            using var input = File.OpenRead(disk.Path);
            using var output = File.Create(ext);
            input.Position = TestDisk.Layout[1].Start;
            var buffer = new byte[TestDisk.Layout[1].Size];
            input.ReadExactly(buffer);
            output.Write(buffer);
        }
        return ext;
    }
}
