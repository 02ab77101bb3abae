using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Engine.Tests.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>dev:// stores for real: a second loop disk with an ext4 and an exFAT partition, mounted by the tool; and a
/// small filesystem that is too full for the image.</summary>
public sealed class DeviceStoreTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private StoreOptions Options(params string[] excluded) => new() { RuntimeRoot = _scratch.File("run"), ExcludedDisks = excluded };

    /// <summary>A 272 MiB GPT disk: partition 1 ext4 holding an empty images/ directory, 2 exFAT, 3 NTFS, 4 FAT32.</summary>
    private LoopDevice StoreDisk()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("mkfs.exfat", "exfatprogs");
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mkfs.fat", "dosfstools");
        string file = _scratch.SparseFile("store.img", 272 * MiB);
        ExternalTool.RunWithInput("sfdisk",
            "label: gpt\nstart=2048, size=131072\nstart=133120, size=131072\nstart=264192, size=131072\nstart=395264, size=131072\n", "-q", file);
        Directory.CreateDirectory(_scratch.File("content/images"));
        LoopDevice loop = LoopDevice.Attach(file);
        try
        {
            loop.ScanPartitions();
            ExternalTool.Run("mkfs.ext4", "-q", "-F", "-d", _scratch.File("content"), loop.PartitionPath(1));
            ExternalTool.Run("mkfs.exfat", loop.PartitionPath(2));
            ExternalTool.Run("mkntfs", "-q", "-Q", "-F", loop.PartitionPath(3));
            ExternalTool.Run("mkfs.fat", "-F", "32", loop.PartitionPath(4));
            return loop;
        }
        catch
        {
            loop.Dispose();
            throw;
        }
    }

    [SkippableTheory]
    [InlineData(1, "/images/pc.lim")]
    [InlineData(2, "/pc.lim")]
    [InlineData(3, "/pc.lim")]
    public void CaptureToAPartitionOfAnotherDisk(int partition, string path)
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        using LoopDevice storeDisk = StoreDisk();
        string url = $"dev://{storeDisk.PartitionPath(partition)}{path}";
        StoreOptions options = Options(disk.Path);

        using (StoreImage target = StoreImage.Open(url, options, forWriting: true))
        {
            new CaptureJob(new CaptureOptions(disk.Path, target.Path)).Run(CancellationToken.None);
            new VerifyJob(new VerifyOptions(target.Path, disk.Path)).Run(CancellationToken.None);
            StoredImage image = Assert.Single(StoreListing.Of(target.Store!).Images);
            Assert.True(image.Complete, image.Problem);
            Assert.Equal(4, image.Metadata!.Partitions.Count);
            Assert.Equal(disk.Path, image.Metadata.Source.Path);
        }

        Assert.Empty(Directory.GetDirectories(options.MountRoot));
        Assert.DoesNotContain(storeDisk.PartitionPath(partition), File.ReadAllText("/proc/mounts"));
        if (partition == 1)
        {
            ExternalTool.Run("e2fsck", "-fn", storeDisk.PartitionPath(1));
            Assert.Contains("pc.lim", ExternalTool.Run("debugfs", "-R", "ls -l /images", storeDisk.PartitionPath(1)));
        }
    }

    [SkippableFact]
    public void AFatPartitionNeedsAKernelWithVfat()
    {
        using LoopDevice storeDisk = StoreDisk();
        StoreOptions options = Options();
        var location = StoreLocation.Parse($"dev://{storeDisk.PartitionPath(4)}");
        if (KernelSupport.Parse(File.ReadAllText("/proc/filesystems")).Contains("vfat"))
        {
            using MountedStore store = new StoreMounter(options).Mount(location);
            store.RequireWritable();
            Assert.NotNull(store.MountPoint);
            return;
        }

        var e = Assert.Throws<StoreException>(() => new StoreMounter(options).Mount(location));

        Assert.Equal(StoreProblem.Unsupported, e.Problem);
        Assert.StartsWith("this kernel cannot mount FAT filesystems", e.Message);
        Assert.False(Directory.Exists(options.MountRoot) && Directory.EnumerateFileSystemEntries(options.MountRoot).Any());
    }

    [SkippableFact]
    public void APartitionOfTheDiskBeingImagedIsRefused()
    {
        using LoopDevice storeDisk = StoreDisk();
        StoreOptions options = Options(storeDisk.Path);

        var e = Assert.Throws<StoreException>(() => StoreImage.Open($"dev://{storeDisk.PartitionPath(1)}/images/x.lim", options, forWriting: true));

        Assert.Equal(StoreProblem.Refused, e.Problem);
        Assert.Equal($"{storeDisk.PartitionPath(1)} is on {storeDisk.Path}, the disk being imaged; choose a store on another disk", e.Message);
        Assert.DoesNotContain(storeDisk.PartitionPath(1), File.ReadAllText("/proc/mounts"));
    }

    [SkippableFact]
    public void APartitionWithoutAFileSystemIsRefused()
    {
        using LoopDevice storeDisk = StoreDisk();
        ExternalTool.Run("wipefs", "-q", "-a", storeDisk.PartitionPath(2));

        var e = Assert.Throws<StoreException>(() => new StoreMounter(Options()).Mount(StoreLocation.Parse($"dev://{storeDisk.PartitionPath(2)}")));

        Assert.Equal(StoreProblem.Unsupported, e.Problem);
        Assert.Contains("holds no filesystem this tool knows; a store must be ext4, FAT, exFAT or NTFS", e.Message);
    }

    [SkippableFact]
    public void AFullStoreIsRefusedBeforeAndFailsCleanlyDuring()
    {
        LoopDevice.RequireRoot();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string file = _scratch.SparseFile("small.img", 12 * MiB);
        ExternalTool.Run("mkfs.ext4", "-q", "-F", file);
        using LoopDevice small = LoopDevice.Attach(file);
        StoreOptions options = Options(disk.Path);

        using (StoreImage target = StoreImage.Open($"dev://{small.Path}/pc.lim", options, forWriting: true))
        {
            var before = Assert.Throws<StoreException>(() => new CaptureJob(new CaptureOptions(disk.Path, target.Path)).Run(CancellationToken.None));
            Assert.Equal(StoreProblem.Full, before.Problem);
            Assert.Matches(@"^the store .* has [0-9.]+ MiB free, but the image may need up to [0-9.]+ MiB", before.Message);
            Assert.StartsWith($"the store dev://{small.Path} has ", ImagingFailure.Explain(before));

            // Leave 2 MiB, less than even the compressed image needs, so the write runs out of room midway.
            using (var filler = new FileStream(target.Store!.PathOf("filler"), FileMode.CreateNew))
            {
                var zeros = new byte[MiB];
                for (long left = target.Store.FreeBytes - 2 * MiB; left > 0; left -= MiB)
                {
                    filler.Write(zeros, 0, (int)Math.Min(left, MiB));
                }
            }
            var during = Assert.Throws<ImagingException>(() =>
                new CaptureJob(new CaptureOptions(disk.Path, target.Path, CheckFreeSpace: false)).Run(CancellationToken.None));
            Assert.Contains("No space left on device", during.Message);
            Assert.Contains("no image was kept", during.Message);
            string shown = ImagingFailure.Explain(during)!;
            Assert.StartsWith($"writing the image dev://{small.Path}/pc.lim failed: No space left on device", shown);
            Assert.DoesNotContain(options.MountRoot, shown);
            Assert.Equal(["filler"], Directory.GetFiles(target.Store.Directory).Select(Path.GetFileName));
        }
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
    }
}
