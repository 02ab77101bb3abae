using System.Buffers.Binary;
using System.Text.RegularExpressions;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.ExFat;
using LiveImager.Formats.Tests.FileSystems.Fat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.ExFat;

/// <summary>exFAT made by mkfs.exfat, filled through exfat-fuse, checked against partclone.exfat and by a round trip
/// through fsck.exfat.</summary>
public sealed class ExFatModuleTests
{
    private const string Label = "LiveImgEx";

    /// <summary>One mkfs.exfat invocation: cluster size, boundary alignment (null for mkfs's default) and volume size;
    /// <paramref name="FillUp"/> adds a file that takes every cluster left, down to the heap's last.
    /// <paramref name="SectorSize"/> other than 512 formats through a loop device of that logical block size.</summary>
    public sealed record ExFatCase(string Name, string ClusterSize, string? Alignment, bool PackBitmap, int SizeMiB,
        bool FillUp = false, int SectorSize = 512);

    private static readonly ExFatCase[] s_cases =
    [
        new("exfat-c512", "512", null, false, 32),
        new("exfat-c4k", "4K", null, false, 64),
        new("exfat-c32k-pack-bitmap", "32K", null, true, 96),
        // A 512-byte boundary puts the cluster heap at 44 KiB, not a multiple of the 32 KiB cluster: the map's blocks
        // are then 4 KiB, the largest power of two that divides the heap's offset.
        new("exfat-c32k-b512", "32K", "512", false, 64),
        new("exfat-c128k", "128K", null, false, 128),
        // partclone.exfat 0.3.23 never marks the heap's last two clusters in its bitmap (find_used_clusters stops
        // before cluster ClusterCount), so on a full volume its restore silently corrupts the file that ends there.
        new("exfat-c4k-full", "4K", null, false, 16, FillUp: true),
        new("exfat-S4096-c16k", "16K", null, false, 64, SectorSize: 4096),
    ];

    public static TheoryData<string> CaseNames => [.. s_cases.Select(c => c.Name)];

    [SkippableTheory]
    [MemberData(nameof(CaseNames))]
    public void Map_matches_partclone_and_round_trips(string name)
    {
        RequireTools();
        ExFatFuseMount.Require();
        ExFatCase c = s_cases.Single(x => x.Name == name);
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("exfat.img", c.SizeMiB * (1L << 20));
        MakeExFat(c, image);
        var kept = FatFamilyFiles.Kept.ToList();
        using (var mount = ExFatFuseMount.Mount(image, scratch))
        {
            Populate(mount.Directory);
            if (c.FillUp)
            {
                var fill = new FatFamilyFiles.TestFile("fill.bin", (int)new DriveInfo(mount.Directory).AvailableFreeSpace, false);
                File.WriteAllBytes(Path.Combine(mount.Directory, fill.Path), FatFamilyFiles.Content(fill));
                kept.Add(fill);
            }
        }

        FileSystemAnalysis analysis = Analyze(image);
        Assert.Equal(FileSystemKind.ExFat, analysis.Kind);
        Assert.Equal("exfat allocation bitmap", analysis.Method);
        Assert.Equal(Label, analysis.Label);
        Assert.Equal(Blkid(image, "LABEL"), analysis.Label);
        Assert.Equal(Blkid(image, "UUID"), analysis.Uuid);
        // exfat-fuse leaves the volume clean and keeps PercentInUse current, so neither is worth a warning.
        Assert.Empty(analysis.Warnings);

        // Oracle 1, exfatprogs: every byte but those of the clusters the bitmap marks free. The image is exactly the
        // volume (mkfs.exfat used all of it), so the tail rule adds nothing.
        long imageBytes = new FileInfo(image).Length;
        long ours = analysis.UsedByteRuns(imageBytes).Sum(r => r.Length);
        var geometry = DumpGeometry(image);
        Assert.Equal(imageBytes - (geometry.FreeClusters * ClusterBytes(c)), ours);
        // Oracle 2, partclone.exfat: it counts the same way, but its bundled libexfat sizes the cluster map as
        // ClusterCount - 2 (mount.c: cmap.size = cluster_count - EXFAT_FIRST_DATA_CLUSTER, fixed in later exfat
        // releases), so the heap's last two clusters always count as used: partclone is ours plus those of the two
        // that are free. The round trip below shows they are not needed.
        long heapBlock = (geometry.HeapOffsetSectors << geometry.SectorBits) / analysis.BlockSize;
        long blocksPerCluster = ClusterBytes(c) / analysis.BlockSize;
        long lastTwoFree = new[] { geometry.ClusterCount, geometry.ClusterCount + 1 }
            .Count(cluster => !analysis.Map.IsUsed(heapBlock + ((cluster - 2) * blocksPerCluster)));
        Assert.Equal(c.FillUp ? 0 : 2, lastTwoFree);
        var (pcBlocks, pcBlockSize) = Partclone.UsedBlocks("exfat", image, scratch);
        Assert.Equal(pcBlocks * pcBlockSize, ours + (lastTwoFree * ClusterBytes(c)));
        if (c.Alignment is not null)
        {
            Assert.True(analysis.BlockSize < ClusterBytes(c), $"block size {analysis.BlockSize} for an unaligned heap");
        }
        else
        {
            Assert.Equal(ClusterBytes(c), analysis.BlockSize);
        }

        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(image, copy, analysis, 0, imageBytes);
        var fsck = ExternalTool.RunUnchecked("fsck.exfat", null, "-n", copy);
        Assert.True(fsck.ExitCode == 0, $"fsck.exfat -n failed ({fsck.ExitCode}):\n{fsck.StandardOutput}\n{fsck.StandardError}");
        if (!c.FillUp)
        {
            // A full volume has no free cluster left to hold the deleted files' data.
            FatModuleTests.AssertDeletedDataStaysBehind(image, copy);
        }
        using (var mount = ExFatFuseMount.Mount(copy, scratch))
        {
            foreach (var file in kept)
            {
                byte[] read = File.ReadAllBytes(Path.Combine(mount.Directory, file.Path));
                Assert.Equal(FatFamilyFiles.Sha256(FatFamilyFiles.Content(file)), FatFamilyFiles.Sha256(read));
            }
            foreach (var file in FatFamilyFiles.EarlyFiles.Where(f => f.Deleted))
            {
                Assert.False(File.Exists(Path.Combine(mount.Directory, file.Path)));
            }
        }
    }

    [SkippableFact]
    public void Cyclic_root_directory_chain_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("exfat.img", 32L << 20);
        MakeExFat(s_cases[0], image);
        var geometry = DumpGeometry(image);
        // The root directory is one cluster whose FAT entry says "end of chain"; make it point back to itself.
        long entryOffset = (geometry.FatOffsetSectors * 512) + (geometry.RootCluster * 4);
        ImageBytes.Patch(image, entryOffset, UInt32(geometry.RootCluster));

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        Assert.Equal(FileSystemKind.ExFat, analysis.Kind);
        Assert.Equal($"exfat FAT: entry {geometry.RootCluster} = 0x{geometry.RootCluster:X8} at byte {entryOffset}: " +
            $"the root directory's cluster chain returns to cluster {geometry.RootCluster}: a loop",
            Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void Bitmap_entry_pointing_outside_the_heap_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("exfat.img", 32L << 20);
        MakeExFat(s_cases[0], image);
        var geometry = DumpGeometry(image);
        long entryOffset = FindRootEntry(image, geometry, ExFatDirectoryEntry.AllocationBitmap);
        uint outside = (uint)geometry.ClusterCount + 5;
        ImageBytes.Patch(image, entryOffset + 0x14, UInt32(outside));

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        long bitmapClusters = ((geometry.ClusterCount + 7) / 8 + 511) / 512;
        Assert.Equal($"exfat allocation bitmap entry: FirstCluster = {outside} at byte {entryOffset + 0x14}: " +
            $"{bitmapClusters} clusters from there lie outside clusters 2..{geometry.ClusterCount + 1}",
            Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void Bitmap_marking_the_root_directory_free_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("exfat.img", 32L << 20);
        MakeExFat(s_cases[0], image);
        var geometry = DumpGeometry(image);
        long bitmapStart = (geometry.HeapOffsetSectors * 512) + ((geometry.BitmapCluster - 2) * 512);
        long byteOffset = bitmapStart + ((geometry.RootCluster - 2) / 8);
        byte[] bitmapByte = ImageBytes.Read(image, byteOffset, 1);
        bitmapByte[0] &= (byte)~(1 << (int)((geometry.RootCluster - 2) % 8));
        ImageBytes.Patch(image, byteOffset, bitmapByte);

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        Assert.Equal($"exfat allocation bitmap: bit for cluster {geometry.RootCluster} = 0 at byte {byteOffset}: " +
            "marks free a cluster of the root directory", Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void Damaged_boot_checksum_is_reported_and_copied_whole()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("exfat.img", 32L << 20);
        MakeExFat(s_cases[0], image);
        // VolumeSerialNumber is covered by the checksum.
        ImageBytes.Patch(image, 0x64, [0x12, 0x34, 0x56, 0x78]);

        FileSystemAnalysis analysis = Analyze(image);
        Assert.True(analysis.IsWholeCopy);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(ImageBytes.Read(image, 11 * 512, 4));
        Assert.StartsWith($"exfat boot checksum sector: BootChecksum = 0x{stored:X8} at byte 5632: " +
            "does not match the boot region's checksum 0x", Assert.Single(analysis.Warnings));
    }

    private static void RequireTools()
    {
        ExternalTool.Require("mkfs.exfat", "exfatprogs");
        ExternalTool.Require("fsck.exfat", "exfatprogs");
        ExternalTool.Require("dump.exfat", "exfatprogs");
        ExternalTool.Require("partclone.exfat", "partclone");
        ExternalTool.Require("blkid", "util-linux");
    }

    private static int ClusterBytes(ExFatCase c) =>
        c.ClusterSize.EndsWith('K') ? int.Parse(c.ClusterSize[..^1]) * 1024 : int.Parse(c.ClusterSize);

    private static void MakeExFat(ExFatCase c, string image)
    {
        if (c.SectorSize != 512)
        {
            // mkfs.exfat takes the sector size from the device: give it a loop device with that logical block size.
            ExFatFuseMount.Require();
            string loop = ExternalTool.Run("losetup", "-f", "--show", "-b", c.SectorSize.ToString(), image).Trim();
            try
            {
                MakeExFat(c with { SectorSize = 512 }, loop);
            }
            finally
            {
                ExternalTool.Run("losetup", "-d", loop);
            }
            return;
        }
        var args = new List<string> { "-c", c.ClusterSize, "-L", Label };
        if (c.Alignment is not null)
        {
            args.AddRange(["-b", c.Alignment]);
        }
        if (c.PackBitmap)
        {
            args.Add("--pack-bitmap");
        }
        args.Add(image);
        ExternalTool.Run("mkfs.exfat", [.. args]);
    }

    private static void Populate(string root)
    {
        foreach (string directory in FatFamilyFiles.Directories)
        {
            Directory.CreateDirectory(Path.Combine(root, directory));
        }
        foreach (var file in FatFamilyFiles.EarlyFiles)
        {
            File.WriteAllBytes(Path.Combine(root, file.Path), FatFamilyFiles.Content(file));
        }
        foreach (var file in FatFamilyFiles.EarlyFiles.Where(f => f.Deleted))
        {
            File.Delete(Path.Combine(root, file.Path));
        }
        foreach (var file in FatFamilyFiles.LateFiles)
        {
            File.WriteAllBytes(Path.Combine(root, file.Path), FatFamilyFiles.Content(file));
        }
    }

    private static FileSystemAnalysis Analyze(string image)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
        return FileSystemDetector.Analyze(new StreamBlockSource(stream));
    }

    private static string Blkid(string image, string tag) =>
        ExternalTool.Run("blkid", "-p", "-o", "value", "-s", tag, image).Trim();

    /// <summary>The layout dump.exfat reports, independently of the code under test.</summary>
    private sealed record Geometry(long FatOffsetSectors, long HeapOffsetSectors, long ClusterCount, long RootCluster,
        long BitmapCluster, long FreeClusters, int SectorBits);

    private static Geometry DumpGeometry(string image)
    {
        string text = ExternalTool.Run("dump.exfat", image);
        long Number(string label) => long.Parse(Regex.Match(text, Regex.Escape(label) + @"[^\n]*?\s(\d+)\s*\n").Groups[1].Value);
        return new Geometry(
            Number("FAT Offset(sector offset):"),
            Number("Cluster Heap Offset (sector offset):"),
            Number("Cluster Count:"),
            Number("Root Cluster (cluster offset):"),
            Number("Bitmap start cluster:"),
            Number("Free Clusters:"),
            (int)Number("Sector Size Bits:"));
    }

    /// <summary>Byte offset of the first root directory entry of <paramref name="type"/>, on a volume of 512-byte clusters.</summary>
    private static long FindRootEntry(string image, Geometry geometry, byte type)
    {
        long rootStart = (geometry.HeapOffsetSectors * 512) + ((geometry.RootCluster - 2) * 512);
        byte[] cluster = ImageBytes.Read(image, rootStart, 512);
        for (int at = 0; at < cluster.Length; at += 32)
        {
            if (cluster[at] == type)
            {
                return rootStart + at;
            }
        }
        throw new InvalidOperationException($"no entry 0x{type:X2} in the root directory");
    }

    private static byte[] UInt32(long value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value);
        return bytes;
    }
}
