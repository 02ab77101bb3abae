using System.Security.Cryptography;
using System.Text.Json;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>A loop disk whose ext4 partition is mounted: reported in use with the reason, and refused for writing.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class InUseTests : IDisposable
{
    private const long DiskBytes = 64L * 1024 * 1024;
    private const long PartitionStart = 2048 * 512;
    private const long PartitionBytes = 100_000 * 512;

    private readonly ScratchDirectory _scratch = new();

    public InUseTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void AMountedPartitionMakesItsDiskInUseAndRefusedForWriting()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("partx", "util-linux");
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string file = _scratch.SparseFile("disk.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, size=100000\n", "-q", file);
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
        {
            // A pattern in the unpartitioned space, where a stray write would show (the mounted ext4 itself changes).
            stream.Position = PartitionStart + PartitionBytes;
            stream.Write(Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 7)).ToArray());
        }
        string mountPoint = Directory.CreateDirectory(_scratch.File("mnt")).FullName;

        using var loop = LoopDevice.Attach(file);
        string partition = Assert.Single(loop.ScanPartitions());
        ExternalTool.Run("mkfs.ext4", "-q", partition);
        ExternalTool.Run("mount", partition, mountPoint);
        byte[] before;
        try
        {
            before = HashOutsidePartition(file);

            DiskInfo disk = new DiskScanner().Scan().Single(disk => disk.Name == loop.Name);
            string expectedReason = $"{loop.Name}p1 is mounted at {mountPoint}";
            Assert.True(disk.InUse);
            Assert.Equal(expectedReason, disk.InUseReason);
            Assert.Equal(mountPoint, Assert.Single(disk.Partitions).MountPoint);

            // The one guard names what uses the disk, for a capture of the disk and for the partition alike.
            var refused = Assert.Throws<ImagingException>(() => new CaptureJob(new CaptureOptions(loop.Path, _scratch.File("a.lim"))).Run(CancellationToken.None));
            Assert.Equal($"{loop.Path} is in use ({expectedReason}); unmount it, turn its swap off or stop its holders first", refused.Message);
            var refusedPartition = Assert.Throws<ImagingException>(() => new CaptureJob(new CaptureOptions(partition, _scratch.File("b.lim"))).Run(CancellationToken.None));
            Assert.Equal($"{partition} is a partition of {loop.Path}; capture the whole disk {loop.Path}", refusedPartition.Message);
            Assert.False(File.Exists(_scratch.File("a.lim")) || File.Exists(_scratch.File("b.lim")));
            // Past the guard, the kernel still refuses an exclusive open of a disk whose partition is mounted.
            Assert.Throws<DeviceBusyException>(() => BlockDevice.OpenWrite(loop.Path));

            string? binary = Environment.GetEnvironmentVariable(PublishedBinary.Variable);
            if (!string.IsNullOrEmpty(binary))
            {
                using JsonDocument document = PublishedBinary.ListJson(binary);
                JsonElement listed = document.RootElement.EnumerateArray().Single(entry => entry.GetProperty("name").GetString() == loop.Name);
                Assert.True(listed.GetProperty("inUse").GetBoolean());
                Assert.Equal(expectedReason, listed.GetProperty("inUseReason").GetString());

                // Looking is not using: inspect reads a disk in use without claiming it (no O_EXCL).
                using JsonDocument inspected = JsonDocument.Parse(ExternalTool.Run(binary, "inspect", loop.Path, "--json"));
                Assert.Equal("ext4", inspected.RootElement.GetProperty("partitions")[0].GetProperty("fileSystem").GetString());
            }
        }
        finally
        {
            Unmount(mountPoint);
        }
        Assert.Equal(before, HashOutsidePartition(file));

        // Unmounted, the same disk opens: the refusal was the mount's doing.
        DiskInfo freed = new DiskScanner().Scan().Single(disk => disk.Name == loop.Name);
        Assert.False(freed.InUse);
        using var device = BlockDevice.OpenWrite(loop.Path);
        Assert.Equal(DiskBytes, device.Length);
    }

    // Everything but the mounted filesystem, whose own superblock and journal change when it is mounted and unmounted.
    private static byte[] HashOutsidePartition(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        Assert.Equal(DiskBytes, bytes.Length);
        return SHA256.HashData([.. bytes.AsSpan(0, (int)PartitionStart), .. bytes.AsSpan((int)(PartitionStart + PartitionBytes))]);
    }

    private static void Unmount(string mountPoint)
    {
        if (ExternalTool.RunUnchecked("umount", null, mountPoint).ExitCode != 0)
        {
            // Busy (a failed assertion can leave a handle open): detach it lazily so the loop device can go.
            ExternalTool.RunUnchecked("umount", null, "-l", mountPoint);
        }
    }
}
