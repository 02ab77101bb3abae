using System.Buffers.Binary;
using System.Text.RegularExpressions;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Fat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Fat;

/// <summary>FAT12/16/32 made by mkfs.fat, filled with mtools (this kernel has no vfat driver), checked against
/// partclone.fat and by a round trip through fsck.fat.</summary>
public sealed partial class FatModuleTests
{
    private const string Label = "LIVEIMG";
    private const string Serial = "1234ABCD";

    /// <summary>One mkfs.fat invocation: FAT type, sectors per cluster, logical sector size, and a size large enough
    /// for the cluster count that type needs.</summary>
    public sealed record FatCase(string Name, int FatBits, int SectorsPerCluster, int SectorSize, int SizeMiB, FileSystemKind Kind);

    private static readonly FatCase[] s_cases =
    [
        new("fat12-s1", 12, 1, 512, 2, FileSystemKind.Fat12),
        new("fat12-s8", 12, 8, 512, 8, FileSystemKind.Fat12),
        new("fat12-S4096", 12, 1, 4096, 8, FileSystemKind.Fat12),
        new("fat16-s1", 16, 1, 512, 16, FileSystemKind.Fat16),
        new("fat16-s8", 16, 8, 512, 64, FileSystemKind.Fat16),
        new("fat16-s64", 16, 64, 512, 160, FileSystemKind.Fat16),
        new("fat32-s1", 32, 1, 512, 40, FileSystemKind.Fat32),
        new("fat32-s8", 32, 8, 512, 300, FileSystemKind.Fat32),
        new("fat32-s64", 32, 64, 512, 2100, FileSystemKind.Fat32),
        new("fat32-S4096", 32, 1, 4096, 300, FileSystemKind.Fat32),
    ];

    static FatModuleTests()
    {
        // mtools refuses images whose size is not a whole number of its assumed tracks; the geometry is irrelevant here.
        Environment.SetEnvironmentVariable("MTOOLS_SKIP_CHECK", "1");
    }

    public static TheoryData<string> CaseNames => [.. s_cases.Select(c => c.Name)];

    [SkippableTheory]
    [MemberData(nameof(CaseNames))]
    public void Map_matches_partclone_and_round_trips(string name)
    {
        RequireTools();
        FatCase c = s_cases.Single(x => x.Name == name);
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("fat.img", c.SizeMiB * (1L << 20));
        MakeFat(c, image);
        Populate(image, 0, scratch);

        FileSystemAnalysis analysis = Analyze(image);
        Assert.Equal(c.Kind, analysis.Kind);
        Assert.Equal($"{c.Kind.ToName()} FAT", analysis.Method);
        Assert.Empty(analysis.Warnings);
        Assert.Equal(Label, analysis.Label);
        Assert.Equal(Blkid(image, "UUID"), analysis.Uuid);
        Assert.Equal(Blkid(image, "LABEL"), analysis.Label);

        FsckReport fsck = FsckReport.Of(image);
        long imageBytes = new FileInfo(image).Length;
        // The runs cover the whole image; what lies past the volume is the tail rule's, which neither oracle sees.
        long oursInVolume = analysis.UsedByteRuns(imageBytes).Sum(r => r.Length) - (imageBytes - fsck.VolumeBytes);
        // fsck.fat's own figures: everything before the data area, the clusters it counts as used, and the sectors
        // past the last whole cluster.
        Assert.Equal(fsck.VolumeBytes - fsck.DataBytes + (fsck.UsedClusters * fsck.ClusterBytes), oursInVolume);
        // partclone 0.3.23 reads FAT12 entries as 16-bit words shifted right by 4 (check_fat12_entry), two bytes per
        // cluster from the FAT's start, so it judges each cluster by the wrong bytes (entries further on, then the
        // second FAT and the root directory): its FAT12 count is off in either direction
        // (2 MiB, 512-byte clusters: 899072 bytes against fsck.fat's 706048). fsck.fat above is the FAT12 oracle.
        if (c.Kind != FileSystemKind.Fat12)
        {
            var (pcBlocks, pcBlockSize) = Partclone.UsedBlocks("fat", image, scratch);
            Assert.Equal(pcBlocks * pcBlockSize, oursInVolume);
        }

        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(image, copy, analysis, 0, imageBytes);
        FsckPasses(copy);
        AssertDeletedDataStaysBehind(image, copy);
        AssertFilesMatch(copy, 0, scratch);
    }

    [SkippableFact]
    public void Fat32_inside_an_mbr_partition_is_analysed_through_a_slice()
    {
        RequireTools();
        ExternalTool.Require("sfdisk", "fdisk");
        using var scratch = new ScratchDirectory();
        const long partitionStart = 2048L * 512;
        const long partitionSectors = 90_000;
        const long partitionBytes = partitionSectors * 512;
        string disk = scratch.SparseFile("disk.img", 64L << 20);
        ExternalTool.RunWithInput("sfdisk", $"label: dos\nstart=2048, size={partitionSectors}, type=c\n", "-q", disk);
        ExternalTool.Run("mkfs.fat", "-F", "32", "-s", "1", "-n", Label, "-i", Serial, "--offset", "2048", disk,
            (partitionBytes / 1024).ToString());
        Populate(disk, partitionStart, scratch);

        FileSystemAnalysis analysis;
        using (var stream = new FileStream(disk, FileMode.Open, FileAccess.Read))
        {
            analysis = FileSystemDetector.Analyze(new StreamBlockSource(stream).Slice(partitionStart, partitionBytes));
        }
        string partition = scratch.File("partition.img");
        ExtractRange(disk, partitionStart, partitionBytes, partition);
        FileSystemAnalysis alone = Analyze(partition);
        Assert.Equal(FileSystemKind.Fat32, analysis.Kind);
        Assert.Equal(alone.Map.ToBitmap(), analysis.Map.ToBitmap());
        Assert.Equal(Label, analysis.Label);

        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(disk, copy, analysis, partitionStart, partitionBytes);
        string copiedPartition = scratch.File("copied-partition.img");
        ExtractRange(copy, partitionStart, partitionBytes, copiedPartition);
        FsckPasses(copiedPartition);
        AssertFilesMatch(copy, partitionStart, scratch);
    }

    [SkippableFact]
    public void Zero_sectors_per_cluster_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("fat.img", 16L << 20);
        MakeFat(new FatCase("fat16", 16, 4, 512, 16, FileSystemKind.Fat16), image);
        ImageBytes.Patch(image, 0x0D, [0]);

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        Assert.Equal("FAT boot sector: BPB_SecPerClus = 0 at byte 13: must be a power of two from 1 to 128",
            Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void Fat_size_beyond_the_partition_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("fat.img", 40L << 20);
        MakeFat(new FatCase("fat32", 32, 1, 512, 40, FileSystemKind.Fat32), image);
        var size = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(size, 0x00100000);
        ImageBytes.Patch(image, 0x24, size);
        long reservedBytes = ReadUInt16(image, 0x0E) * 512L;

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        Assert.Equal($"FAT boot sector: BPB_FATSz32 = 1048576 at byte 36: 2 FATs end at byte {reservedBytes + (2L << 29)}, " +
            "past the 41943040-byte partition", Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void Fat_entry_pointing_outside_the_volume_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("fat.img", 16L << 20);
        MakeFat(new FatCase("fat16", 16, 1, 512, 16, FileSystemKind.Fat16), image);
        Populate(image, 0, scratch);
        var sector = new byte[FatBootSector.Size];
        using (var stream = File.OpenRead(image))
        {
            stream.ReadExactly(sector);
        }
        var boot = FatBootSector.Parse(sector);
        // Cluster 3 belongs to the first file written; send its chain past the last cluster.
        long entryOffset = boot.FatStartBytes + (3 * 2);
        var outside = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(outside, (ushort)(boot.ClusterCount + 10));
        ImageBytes.Patch(image, entryOffset, outside);

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        Assert.Equal($"FAT: entry 3 = 0x{boot.ClusterCount + 10:X} at byte {entryOffset}: points outside clusters " +
            $"2..{boot.ClusterCount + 1}", Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void Cyclic_fat32_root_directory_chain_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("fat.img", 40L << 20);
        // No label: the walk for a label entry must then read the whole root directory. 512-byte clusters hold 16
        // entries, so 32 short-named files fill the root's first two clusters and leave no end-of-directory entry.
        ExternalTool.Run("mkfs.fat", "-F", "32", "-s", "1", image);
        var files = Enumerable.Range(0, 32).Select(i => scratch.File($"F{i:D2}.TXT")).ToArray();
        foreach (string file in files)
        {
            File.WriteAllBytes(file, []);
        }
        ExternalTool.Run("mcopy", ["-i", image, .. files, "::/"]);
        long fatStart = ReadUInt16(image, 0x0E) * 512L;
        long rootCluster = ReadUInt32(image, 0x2C);
        long second = ReadUInt32(image, fatStart + (rootCluster * 4)) & 0x0FFFFFFF;
        Assert.Equal(0x0FFFFFFFu, ReadUInt32(image, fatStart + (second * 4)) & 0x0FFFFFFF);
        var back = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(back, (uint)rootCluster);
        ImageBytes.Patch(image, fatStart + (second * 4), back);

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        Assert.Equal($"FAT: entry {second} = 0x{rootCluster:X} at byte {fatStart + (second * 4)}: the root directory's " +
            $"cluster chain returns to cluster {rootCluster}: a loop", Assert.Single(analysis.Warnings));
    }

    /// <summary>FSI_Free_Count is a hint (fsck.fat -n says "Free cluster summary wrong ... Auto-correcting"): a wrong
    /// value is reported, an unknown one (0xFFFFFFFF) is skipped, and neither changes the map, which the FAT decides.</summary>
    [SkippableTheory]
    [InlineData(16u, true)]
    [InlineData(0xFFFFFFFFu, false)]
    public void Fsinfo_free_count_is_a_hint_checked_against_the_fat(uint freeCount, bool warns)
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("fat.img", 40L << 20);
        MakeFat(new FatCase("fat32", 32, 1, 512, 40, FileSystemKind.Fat32), image);
        Populate(image, 0, scratch);
        FileSystemAnalysis before = Analyze(image);
        Assert.Empty(before.Warnings);
        long free = FsckReport.Of(image).FreeClusters;
        long fsInfoStart = ReadUInt16(image, 0x30) * 512L;
        var count = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(count, freeCount);
        ImageBytes.Patch(image, fsInfoStart + 0x1E8, count);

        FileSystemAnalysis after = Analyze(image);
        Assert.False(after.IsWholeCopy);
        Assert.Equal(before.Map.ToBitmap(), after.Map.ToBitmap());
        if (warns)
        {
            Assert.Equal($"fat32: FSInfo FSI_Free_Count = {freeCount} at byte {fsInfoStart + 0x1E8}, but the FAT has " +
                $"{free} free clusters; the FAT is used (fsck.fat would correct the hint)", Assert.Single(after.Warnings));
        }
        else
        {
            Assert.Empty(after.Warnings);
        }
    }

    [SkippableFact]
    public void Fat32_entries_are_masked_to_28_bits_and_bad_clusters_are_not_copied()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("fat.img", 40L << 20);
        MakeFat(new FatCase("fat32", 32, 1, 512, 40, FileSystemKind.Fat32), image);
        Populate(image, 0, scratch);
        FileSystemAnalysis before = Analyze(image);
        FsckReport fsck = FsckReport.Of(image);
        long fatStart = ReadUInt16(image, 0x0E) * 512L;
        long fatBytes = ReadUInt32(image, 0x24) * 512L;
        long rootCluster = ReadUInt32(image, 0x2C);
        long lastCluster = fsck.Clusters + 1;
        void SetEntry(long cluster, uint value)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            ImageBytes.Patch(image, fatStart + (cluster * 4), bytes);
            ImageBytes.Patch(image, fatStart + fatBytes + (cluster * 4), bytes);
        }
        Assert.Equal(0u, ReadUInt32(image, fatStart + (lastCluster * 4)));
        Assert.Equal(0u, ReadUInt32(image, fatStart + ((lastCluster - 1) * 4)));
        SetEntry(lastCluster, 0x0FFFFFF7);       // bad: nothing to copy, and reading it may fail
        SetEntry(lastCluster - 1, 0xF0000000);   // only the reserved top bits: free
        SetEntry(rootCluster, 0xFFFFFFFF);       // end of chain with the top bits set: still used
        // The bad cluster is no longer free, so the recorded free count would rightly disagree; mark it unknown.
        ImageBytes.Patch(image, (ReadUInt16(image, 0x30) * 512L) + 0x1E8, [0xFF, 0xFF, 0xFF, 0xFF]);

        FileSystemAnalysis after = Analyze(image);
        Assert.Equal("fat32: clusters marked bad: 1; they are not copied", Assert.Single(after.Warnings));
        Assert.Equal(before.Map.ToBitmap(), after.Map.ToBitmap());
        long dataStartBlock = fsck.DataStartBytes / 512;
        Assert.Equal(512, after.BlockSize);
        Assert.False(after.Map.IsUsed(dataStartBlock + lastCluster - 2));
        Assert.True(after.Map.IsUsed(dataStartBlock + rootCluster - 2));
    }

    private static void RequireTools()
    {
        ExternalTool.Require("mkfs.fat", "dosfstools");
        ExternalTool.Require("fsck.fat", "dosfstools");
        ExternalTool.Require("mcopy", "mtools");
        ExternalTool.Require("partclone.fat", "partclone");
        ExternalTool.Require("blkid", "util-linux");
    }

    private static void MakeFat(FatCase c, string image) =>
        ExternalTool.Run("mkfs.fat", "-F", c.FatBits.ToString(), "-s", c.SectorsPerCluster.ToString(),
            "-S", c.SectorSize.ToString(), "-n", Label, "-i", Serial, image);

    private static FileSystemAnalysis Analyze(string image)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
        return FileSystemDetector.Analyze(new StreamBlockSource(stream));
    }

    /// <summary>Writes <see cref="FatFamilyFiles"/> with mtools into the volume at <paramref name="offset"/>.</summary>
    private static void Populate(string image, long offset, ScratchDirectory scratch)
    {
        string target = $"{image}@@{offset}";
        foreach (string directory in FatFamilyFiles.Directories)
        {
            ExternalTool.Run("mmd", "-i", target, $"::/{directory}");
        }
        foreach (var file in FatFamilyFiles.EarlyFiles)
        {
            CopyIn(target, file, scratch);
        }
        foreach (var file in FatFamilyFiles.EarlyFiles.Where(f => f.Deleted))
        {
            ExternalTool.Run("mdel", "-i", target, $"::/{file.Path}");
        }
        foreach (var file in FatFamilyFiles.LateFiles)
        {
            CopyIn(target, file, scratch);
        }
    }

    private static void CopyIn(string target, FatFamilyFiles.TestFile file, ScratchDirectory scratch)
    {
        string local = scratch.File("in-" + Path.GetFileName(file.Path));
        File.WriteAllBytes(local, FatFamilyFiles.Content(file));
        ExternalTool.Run("mcopy", "-i", target, local, $"::/{file.Path}");
        File.Delete(local);
    }

    private static void AssertFilesMatch(string image, long offset, ScratchDirectory scratch)
    {
        foreach (var file in FatFamilyFiles.Kept)
        {
            string local = scratch.File("out-" + Path.GetFileName(file.Path));
            ExternalTool.Run("mcopy", "-n", "-i", $"{image}@@{offset}", $"::/{file.Path}", local);
            Assert.Equal(FatFamilyFiles.Sha256(FatFamilyFiles.Content(file)), FatFamilyFiles.Sha256(File.ReadAllBytes(local)));
            File.Delete(local);
        }
        foreach (var file in FatFamilyFiles.EarlyFiles.Where(f => f.Deleted))
        {
            var result = ExternalTool.RunUnchecked("mdir", null, "-i", $"{image}@@{offset}", $"::/{file.Path}");
            Assert.NotEqual(0, result.ExitCode);
        }
    }

    /// <summary>The end of a deleted file is still in the source's free clusters (mdel only frees them), and must not
    /// reach the copy: proof that free clusters are skipped, not just counted.</summary>
    internal static void AssertDeletedDataStaysBehind(string source, string copy)
    {
        var gone = FatFamilyFiles.EarlyFiles.First(f => f.Deleted);
        byte[] needle = FatFamilyFiles.Content(gone).AsSpan(gone.Size - 64).ToArray();
        Assert.True(Head(source).AsSpan().IndexOf(needle) >= 0, "the deleted file's data is not in the source");
        Assert.True(Head(copy).AsSpan().IndexOf(needle) < 0, "the deleted file's data was copied");
    }

    /// <summary>The first 16 MiB of an image, where every case's files lie.</summary>
    private static byte[] Head(string image)
    {
        using var stream = File.OpenRead(image);
        var bytes = new byte[Math.Min(stream.Length, 16L << 20)];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static void FsckPasses(string image)
    {
        var result = ExternalTool.RunUnchecked("fsck.fat", null, "-n", image);
        Assert.True(result.ExitCode == 0, $"fsck.fat -n failed ({result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");
    }

    private static string Blkid(string image, string tag) =>
        ExternalTool.Run("blkid", "-p", "-o", "value", "-s", tag, image).Trim();

    private static int ReadUInt16(string image, long offset) => BinaryPrimitives.ReadUInt16LittleEndian(ImageBytes.Read(image, offset, 2));

    private static uint ReadUInt32(string image, long offset) => BinaryPrimitives.ReadUInt32LittleEndian(ImageBytes.Read(image, offset, 4));


    private static void ExtractRange(string source, long offset, long length, string destination)
    {
        using var input = new FileStream(source, FileMode.Open, FileAccess.Read);
        using var output = new FileStream(destination, FileMode.Create, FileAccess.Write);
        input.Position = offset;
        var buffer = new byte[1 << 20];
        for (long done = 0; done < length;)
        {
            int chunk = (int)Math.Min(buffer.Length, length - done);
            input.ReadExactly(buffer, 0, chunk);
            output.Write(buffer, 0, chunk);
            done += chunk;
        }
    }

    /// <summary>The geometry and usage fsck.fat -nv reports, independently of the code under test.</summary>
    private sealed partial record FsckReport(long VolumeBytes, long DataStartBytes, long DataBytes, long ClusterBytes,
        long UsedClusters, long Clusters)
    {
        public long FreeClusters => Clusters - UsedClusters;

        public static FsckReport Of(string image)
        {
            string text = ExternalTool.Run("fsck.fat", "-nv", image);
            long Number(Regex regex) => long.Parse(regex.Match(text).Groups[1].Value);
            return new FsckReport(
                Number(TotalSectorsRegex()) * Number(SectorBytesRegex()),
                Number(DataStartRegex()),
                Number(DataBytesRegex()),
                Number(ClusterBytesRegex()),
                Number(UsedClustersRegex()),
                Number(ClustersRegex()));
        }

        [GeneratedRegex(@"(\d+) bytes per logical sector")]
        private static partial Regex SectorBytesRegex();

        [GeneratedRegex(@"(\d+) sectors total")]
        private static partial Regex TotalSectorsRegex();

        [GeneratedRegex(@"(\d+) bytes per cluster")]
        private static partial Regex ClusterBytesRegex();

        [GeneratedRegex(@"Data area starts at byte (\d+)")]
        private static partial Regex DataStartRegex();

        [GeneratedRegex(@"data clusters \((\d+) bytes\)")]
        private static partial Regex DataBytesRegex();

        [GeneratedRegex(@"files, (\d+)/\d+ clusters")]
        private static partial Regex UsedClustersRegex();

        [GeneratedRegex(@"files, \d+/(\d+) clusters")]
        private static partial Regex ClustersRegex();
    }
}
