using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>Capture and restore on real loop devices, and a full store; these need root.</summary>
public sealed class ImagingLoopTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void CaptureFromADeviceAndRestoreOntoADeviceAndALargerOne()
    {
        LoopDevice.RequireRoot();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        using (var source = LoopDevice.Attach(disk.Path))
        {
            new CaptureJob(new CaptureOptions(source.Path, image)).Run(CancellationToken.None);
            Assert.True(new VerifyJob(new VerifyOptions(image, Against: source.Path)).Run(CancellationToken.None).BytesCompared > 0);
        }
        string sameFile = _scratch.SparseFile("same.img", TestDisk.DiskBytes);
        string largerFile = _scratch.SparseFile("larger.img", TestDisk.DiskBytes + (16L << 20));
        using (var same = LoopDevice.Attach(sameFile, partitionScan: true))
        using (var larger = LoopDevice.Attach(largerFile, partitionScan: true))
        {
            RestoreResult result = new RestoreJob(new RestoreOptions(image, [same.Path, larger.Path])).Run(CancellationToken.None);

            Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
            Assert.Contains("GPT backup moved", result.Targets[1].Message);
        }
        disk.AssertRestored(sameFile, _scratch);
        disk.AssertRestored(largerFile, _scratch);
    }

    [SkippableFact]
    public void TooSmallADeviceIsRefusedWithTheNumbersAndLeftUntouched()
    {
        LoopDevice.RequireRoot();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        string smallFile = _scratch.File("small.img");
        var before = new byte[32 << 20];
        new Random(3).NextBytes(before);
        File.WriteAllBytes(smallFile, before);

        using (var small = LoopDevice.Attach(smallFile))
        {
            var e = Assert.Throws<ImagingException>(() => new RestoreJob(new RestoreOptions(image, [small.Path])).Run(CancellationToken.None));
            Assert.Equal($"{small.Path}: refused: {small.Path} is {32 << 20} bytes (32 MiB) but the image needs at least {53L << 20} bytes " +
                $"(53 MiB, the end of its last partition; the source disk was {TestDisk.DiskBytes} bytes); nothing was written", e.Message);
        }
        Assert.Equal(before, File.ReadAllBytes(smallFile));
    }

    [SkippableFact]
    public void AFullStoreIsAClearErrorAndLeavesNoImage()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("mount", "mount");
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        ExternalTool.Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", store);
        try
        {
            string image = Path.Combine(store, "disk.lim");
            var e = Assert.Throws<ImagingException>(() => new CaptureJob(new CaptureOptions(disk.Path, image, CheckFreeSpace: false)).Run(CancellationToken.None));

            Assert.StartsWith($"writing the image {image} failed: ", e.Message);
            Assert.Contains("No space left on device", e.Message);
            Assert.EndsWith("; no image was kept", e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(store));
        }
        finally
        {
            ExternalTool.Run("umount", store);
        }
    }

    [SkippableFact]
    public void ADiskWithAMountedPartitionIsRefusedAndAPartitionIsNotADisk()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("partx", "util-linux");
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string mountPoint = Directory.CreateDirectory(_scratch.File("mnt")).FullName;
        using var loop = LoopDevice.Attach(disk.Path);
        loop.ScanPartitions();
        ExternalTool.Run("mount", "-o", "ro", loop.PartitionPath(2), mountPoint);
        try
        {
            var inUse = Assert.Throws<ImagingException>(() =>
                new CaptureJob(new CaptureOptions(loop.Path, _scratch.File("busy.lim"))).Run(CancellationToken.None));
            var partition = Assert.Throws<ImagingException>(() =>
                new CaptureJob(new CaptureOptions(loop.PartitionPath(1), _scratch.File("part.lim"))).Run(CancellationToken.None));

            Assert.StartsWith($"{loop.Path} is in use (", inUse.Message);
            Assert.Contains(mountPoint, inUse.Message);
            Assert.Equal($"{loop.PartitionPath(1)} is a partition of {loop.Path}; capture the whole disk {loop.Path}", partition.Message);
            Assert.Empty(Directory.GetFiles(_scratch.Path, "*.lim*"));
        }
        finally
        {
            ExternalTool.Run("umount", mountPoint);
        }
    }
}
