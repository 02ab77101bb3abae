using System.Security.Cryptography;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.FileSystems.Ext;
using LiveImager.Formats.Tests.FileSystems.Xfs;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.Formats.Tests.FileSystems.Lvm;

/// <summary>Real volume groups made by lvm2: each LV's filesystem is mapped in PV coordinates, the rest of the data
/// area is free, and the used bytes are checked against partclone's counts of the same filesystems.</summary>
public sealed class LvmModuleTests(ITestOutputHelper output)
{
    private const long MiB = 1L << 20;

    /// <summary>root (ext4, 4 KiB blocks) in two segments with free extents between, small (ext4, 1 KiB blocks), an
    /// XFS LV, and a thin pool, on one PV: mapped, measured against partclone, copied by the map, and read back.</summary>
    [SkippableFact]
    public void LinearVolumesAreMappedByTheirFileSystemsAndAThinPoolIsCopiedWhole()
    {
        LvmTestDisk.Require();
        ExtTestImage.RequireTools();
        ExternalTool.Require("partclone.extfs", "partclone");
        using var scratch = new ScratchDirectory();
        var root = ExtTestImage.Create(scratch, "lvroot", "-t ext4 -b 4096", 40, dataBytes: 12 * MiB);
        var small = ExtTestImage.Create(scratch, "lvsmall", "-t ext4 -b 1024", 32, dataBytes: 4 * MiB);
        var xfs = XfsTestVolume.CanCreate ? XfsTestVolume.Create(scratch, "lvxfs", "", 32, randomBytes: 8 << 20, realTrees: []) : null;
        using var disk = LvmTestDisk.Create(scratch, 192 * MiB);
        string vg = disk.VolumeGroup;
        disk.CreateLogicalVolume("root", 6);
        disk.CreateLogicalVolume("gap", 2);
        disk.CreateLogicalVolume("small", 8);
        disk.CreateLogicalVolume("xfs", 8);
        disk.Lvm("lvextend", "-l", "+4", $"{vg}/root");
        disk.CreateLogicalVolume("pm", 1);
        disk.CreateLogicalVolume("pd", 2);
        disk.Lvm("lvremove", "-y", $"{vg}/gap");
        disk.WriteLogicalVolume("root", root.Path);
        disk.WriteLogicalVolume("small", small.Path);
        if (xfs is not null)
        {
            disk.WriteLogicalVolume("xfs", xfs.Path);
        }
        string poolData = scratch.File("pool-data.bin");
        File.WriteAllBytes(poolData, RandomBytes(8 * (int)MiB, seed: 5));
        disk.WriteLogicalVolume("pd", poolData);
        LvmThinPool.Convert(disk, scratch, metadata: "pm", data: "pd", pool: "pool");
        Assert.Contains("thin-pool", disk.Lvm("lvs", "-a", "--noheadings", "-o", "segtype", $"{vg}/pool"));
        Assert.Equal(2, disk.Segments("root").Count);

        var analysis = Analyze(disk.Files[0]);

        Assert.Equal(FileSystemKind.LvmPhysicalVolume, analysis.Kind);
        Assert.False(analysis.IsWholeCopy, analysis.Method);
        Assert.Equal(vg, analysis.Label);
        Assert.Equal(Blkid(disk.Files[0]), analysis.Uuid);
        var lvs = analysis.LogicalVolumes.ToDictionary(lv => lv.Name);
        Assert.Equal(["pool", "pool_tdata", "pool_tmeta", "root", "small", "xfs"], lvs.Keys.Order());
        Assert.Equal((FileSystemKind.Ext4, (string?)null, 2, 40 * MiB), (lvs["root"].FileSystem, lvs["root"].WholeCopyReason, lvs["root"].Segments.Count, lvs["root"].SizeBytes));
        Assert.Equal((FileSystemKind.Ext4, (string?)null), (lvs["small"].FileSystem, lvs["small"].WholeCopyReason));
        Assert.Equal("thin-pool segment (only linear and striped LVs are mapped)", lvs["pool"].WholeCopyReason);
        Assert.Equal("part of LV pool (thin-pool)", lvs["pool_tdata"].WholeCopyReason);
        Assert.Equal("part of LV pool (thin-pool)", lvs["pool_tmeta"].WholeCopyReason);
        Assert.Equal(8 * MiB, lvs["pool_tdata"].UsedBytes);
        Assert.Contains("LV pool_tdata copied whole: part of LV pool (thin-pool)", analysis.Warnings);

        // Extents of no LV are free: the two left by the removed LV and those past the last LV.
        long extent = disk.ExtentBytes;
        long peStart = disk.PeStartBytes(0);
        int blockSize = analysis.BlockSize;
        foreach (long free in new long[] { 6, 7, 31, 46 })
        {
            long first = (peStart + free * extent) / blockSize;
            Assert.All(Enumerable.Range(0, (int)(extent / blockSize)), i => Assert.False(analysis.Map.IsUsed(first + i), $"extent {free}"));
        }

        // The oracle: partclone's used bytes of each mapped filesystem, every byte of the LVs copied whole, and the
        // PV's own label and metadata area (everything before pe_start) and the bytes after its last extent.
        long pvBytes = new FileInfo(disk.Files[0]).Length;
        long peCount = (pvBytes - peStart) / extent;
        long oracle = peStart + (pvBytes - peStart - peCount * extent) + UsedBytes("extfs", root.Path, scratch)
            + UsedBytes("extfs", small.Path, scratch) + 3 * extent;
        oracle += xfs is not null && lvs["xfs"].WholeCopyReason is null ? UsedBytes("xfs", xfs.Path, scratch) : 8 * extent;
        long ours = analysis.UsedByteRuns(pvBytes).Sum(r => r.Length);
        Assert.InRange(ours, oracle, oracle + (oracle / 100) + MiB);
        output.WriteLine($"LVM PV {pvBytes} bytes: ours {ours} used bytes, oracle {oracle}");

        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(disk.Files[0], copy, analysis, 0, pvBytes);
        Assert.Equal(ImageBytes.Read(disk.Files[0], 0, (int)peStart), ImageBytes.Read(copy, 0, (int)peStart));
        string rootCopy = scratch.File("root-copy.img");
        disk.ReadLogicalVolume("root", rootCopy, [copy]);
        root.AssertCopyIsComplete(rootCopy, scratch);
        string smallCopy = scratch.File("small-copy.img");
        disk.ReadLogicalVolume("small", smallCopy, [copy]);
        small.AssertCopyIsComplete(smallCopy, scratch);
        string poolCopy = scratch.File("pool-copy.bin");
        disk.ReadLogicalVolume("pool_tdata", poolCopy, [copy]);
        Assert.Equal(File.ReadAllBytes(poolData), File.ReadAllBytes(poolCopy));
        if (xfs is not null)
        {
            string xfsCopy = scratch.File("xfs-copy.img");
            disk.ReadLogicalVolume("xfs", xfsCopy, [copy]);
            xfs.AssertCopyIsComplete(xfsCopy, scratch);
        }
    }

    /// <summary>A VG over two PVs: a striped LV lies on both, and each PV is analysed alone, so its part on each is
    /// copied whole with the reason; a linear LV on the first PV is still mapped.</summary>
    [SkippableFact]
    public void AStripedVolumeOverTwoPhysicalVolumesIsCopiedWholeOnEach()
    {
        LvmTestDisk.Require();
        ExtTestImage.RequireTools();
        using var scratch = new ScratchDirectory();
        var root = ExtTestImage.Create(scratch, "lvlinear", "-t ext4", 16, dataBytes: 2 * MiB);
        using var disk = LvmTestDisk.Create(scratch, 64 * MiB, 64 * MiB);
        disk.CreateLogicalVolume("linear", 4, pv: 0);
        disk.CreateLogicalVolume("striped", 4, ["-i", "2", "-I", "64k"]);
        disk.WriteLogicalVolume("linear", root.Path);
        var striped = disk.Segments("striped");
        Assert.Equal([0, 1], striped.Single().Stripes.Select(s => s.Pv));

        var first = Analyze(disk.Files[0]);
        var second = Analyze(disk.Files[1]);

        foreach (var analysis in new[] { first, second })
        {
            var lv = analysis.LogicalVolumes.Single(l => l.Name == "striped");
            Assert.Equal(16 * MiB, lv.SizeBytes);
            Assert.Equal(8 * MiB, lv.UsedBytes);
            Assert.Equal("extents 0-3: striped 2x64KiB pv0:4-5 pv1:0-1", Assert.Single(lv.Segments));
        }
        Assert.Equal("lies partly on pv1, another PV (each PV is mapped alone)", first.LogicalVolumes.Single(l => l.Name == "striped").WholeCopyReason);
        Assert.Equal("lies partly on pv0, another PV (each PV is mapped alone)", second.LogicalVolumes.Single(l => l.Name == "striped").WholeCopyReason);
        Assert.Null(first.LogicalVolumes.Single(l => l.Name == "linear").WholeCopyReason);
        Assert.Equal(FileSystemKind.Ext4, first.LogicalVolumes.Single(l => l.Name == "linear").FileSystem);
        var (stripe, pvOffset) = (striped.Single().Stripes[1], disk.PeStartBytes(1));
        Assert.All(Enumerable.Range(0, (int)(2 * disk.ExtentBytes / second.BlockSize)),
            i => Assert.True(second.Map.IsUsed((pvOffset + stripe.Start * disk.ExtentBytes) / second.BlockSize + i)));
    }

    /// <summary>LVM does not put two stripes of one LV on one PV, but its metadata can say so (vgcfgrestore takes
    /// it): such an LV lies wholly on this PV, so it is read through the striping and mapped by its filesystem.</summary>
    [SkippableFact]
    public void AStripedVolumeOnOnePhysicalVolumeIsMappedThroughItsStripes()
    {
        LvmTestDisk.Require();
        ExtTestImage.RequireTools();
        using var scratch = new ScratchDirectory();
        var fs = ExtTestImage.Create(scratch, "lvstriped", "-t ext4 -b 1024", 16, dataBytes: 6 * MiB);
        using var disk = LvmTestDisk.Create(scratch, 64 * MiB);
        disk.CreateLogicalVolume("st", 4);
        disk.CreateLogicalVolume("spacer", 1);
        LvmThinPool.Restore(disk, scratch, text => text.Replace(
            "stripe_count = 1\t# linear\n\n\t\t\t\tstripes = [\n\t\t\t\t\t\"pv0\", 0\n\t\t\t\t]",
            "stripe_count = 2\n\t\t\t\tstripe_size = 16\n\n\t\t\t\tstripes = [\n\t\t\t\t\t\"pv0\", 0,\n\t\t\t\t\t\"pv0\", 2\n\t\t\t\t]",
            StringComparison.Ordinal));
        var segment = Assert.Single(disk.Segments("st"));
        Assert.Equal(8192, segment.StripeBytes);
        disk.WriteLogicalVolume("st", fs.Path);

        var analysis = Analyze(disk.Files[0]);

        var lv = analysis.LogicalVolumes.Single(l => l.Name == "st");
        Assert.Null(lv.WholeCopyReason);
        Assert.Equal("extents 0-3: striped 2x8KiB pv0:0-1 pv0:2-3", Assert.Single(lv.Segments));
        long pvBytes = new FileInfo(disk.Files[0]).Length;
        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(disk.Files[0], copy, analysis, 0, pvBytes);
        string fsCopy = scratch.File("st-copy.img");
        disk.ReadLogicalVolume("st", fsCopy, [copy]);
        fs.AssertCopyIsComplete(fsCopy, scratch);
        Assert.True(analysis.Map.UsedBytes < pvBytes / 2, $"{analysis.Map.UsedBytes} of {pvBytes} bytes used");
    }

    /// <summary>A PV in no VG, and a PV whose metadata area LVM is told to ignore: nothing on either says where LVs
    /// lie, so all of each is copied.</summary>
    [SkippableFact]
    public void APhysicalVolumeWithoutItsVolumeGroupsMetadataIsCopiedWhole()
    {
        LvmTestDisk.Require();
        using var scratch = new ScratchDirectory();
        using var disk = LvmTestDisk.Create(scratch, 32 * MiB, 32 * MiB, 32 * MiB);
        disk.Lvm("vgreduce", disk.VolumeGroup, disk.Loops[1]);
        disk.Lvm("pvchange", "--metadataignore", "y", disk.Loops[2]);

        var orphan = Analyze(disk.Files[1]);
        var ignored = Analyze(disk.Files[2]);
        var described = Analyze(disk.Files[0]);

        Assert.Equal(FileSystemKind.LvmPhysicalVolume, orphan.Kind);
        Assert.Equal("whole copy: LVM2 physical volume in no volume group", orphan.Method);
        Assert.Equal(orphan.Map.BlockCount, orphan.Map.UsedCount);
        Assert.Equal(Blkid(disk.Files[1]), orphan.Uuid);
        Assert.Equal("whole copy: LVM2 physical volume whose metadata areas are ignored (its VG is described on another PV)", ignored.Method);
        Assert.Equal(ignored.Map.BlockCount, ignored.Map.UsedCount);
        Assert.False(described.IsWholeCopy, described.Method);
        Assert.Empty(described.LogicalVolumes);
    }

    internal static FileSystemAnalysis Analyze(string path)
    {
        using var stream = File.OpenRead(path);
        return FileSystemDetector.Analyze(new StreamBlockSource(stream));
    }

    internal static string? Blkid(string image)
    {
        ExternalTool.Require("blkid", "util-linux");
        string value = ExternalTool.RunUnchecked("blkid", null, "-p", "-o", "value", "-s", "UUID", image).StandardOutput.Trim();
        return value.Length == 0 ? null : value;
    }

    private static long UsedBytes(string tool, string image, ScratchDirectory scratch)
    {
        var (blocks, blockSize) = Partclone.UsedBlocks(tool, image, scratch);
        // partclone counts every inode-table block; ours leaves out the never-used ends (docs/used-blocks.md).
        long leftOut = tool == "extfs" ? ImageAnalysis.Analyze(image).UnusedMetadataBytes : 0;
        return blocks * blockSize - leftOut;
    }

    private static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
