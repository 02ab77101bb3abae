using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.FileSystems.Ext;
using LiveImager.Formats.Tests.FileSystems.Lvm;
using LiveImager.Formats.Tests.FileSystems.Xfs;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>Capture of a loop device holding an LVM2 PV and restore onto a blank one: each LV read back from the
/// restored PV at its extents passes fsck with every file intact, and only the LVs' used blocks were captured.</summary>
public sealed class LvmImagingTests(ITestOutputHelper output) : IDisposable
{
    private const long MiB = 1L << 20;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void APhysicalVolumeRoundTripsWithItsLogicalVolumesIntact()
    {
        LoopDevice.RequireRoot();
        LvmTestDisk.Require();
        ExtTestImage.RequireTools();
        var root = ExtTestImage.Create(_scratch, "lvroot", "-t ext4", 48, dataBytes: 16 * MiB);
        var xfs = XfsTestVolume.CanCreate ? XfsTestVolume.Create(_scratch, "lvxfs", "", 32, randomBytes: 8 << 20, realTrees: []) : null;
        string image = _scratch.File("pv.lim");
        string restoredFile = _scratch.SparseFile("restored.img", 256 * MiB);
        using (var disk = LvmTestDisk.Create(_scratch, 256 * MiB))
        {
            disk.CreateLogicalVolume("root", 8);
            disk.CreateLogicalVolume("xfs", 8);
            disk.Lvm("lvextend", "-l", "+4", $"{disk.VolumeGroup}/root");
            disk.WriteLogicalVolume("root", root.Path);
            if (xfs is not null)
            {
                disk.WriteLogicalVolume("xfs", xfs.Path);
            }

            var capture = new CaptureJob(new CaptureOptions(disk.Loops[0], image)).Run(CancellationToken.None);
            Assert.Contains($"  lv root: {48 * MiB} bytes, ext4, ", capture.Log);
            using (var target = LoopDevice.Attach(restoredFile))
            {
                var restore = new RestoreJob(new RestoreOptions(image, [target.Path])).Run(CancellationToken.None);
                Assert.True(restore.Succeeded, string.Join("; ", restore.Targets.Select(t => t.Detail)));
                output.WriteLine($"PV of {256 * MiB} bytes: captured {capture.DataBytes} bytes in {capture.Elapsed.TotalSeconds:0.00} s, " +
                    $"restored in {restore.Elapsed.TotalSeconds:0.00} s");
            }

            // The LVs' used blocks and the metadata, not the 256 MiB PV (an XFS LV is copied whole until XFS is mapped).
            Assert.InRange(new FileInfo(image).Length, 1, 128 * MiB);
            string rootCopy = _scratch.File("root-copy.img");
            disk.ReadLogicalVolume("root", rootCopy, [restoredFile]);
            root.AssertCopyIsComplete(rootCopy, _scratch);
            if (xfs is not null)
            {
                string xfsCopy = _scratch.File("xfs-copy.img");
                disk.ReadLogicalVolume("xfs", xfsCopy, [restoredFile]);
                xfs.AssertCopyIsComplete(xfsCopy, _scratch);
            }
        }
        using var restored = File.OpenRead(restoredFile);
        var analysis = FileSystemDetector.Analyze(new LiveImager.Formats.StreamBlockSource(restored));
        Assert.Equal(FileSystemKind.LvmPhysicalVolume, analysis.Kind);
        Assert.Equal(["root", "xfs"], analysis.LogicalVolumes.Select(lv => lv.Name));
        Assert.Null(analysis.LogicalVolumes[0].WholeCopyReason);
    }
}
