using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.FileSystems.Btrfs;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>A GPT disk with a btrfs partition (a subvolume, a snapshot and a read-only snapshot, files from /usr and
/// random data, some deleted) captured from a loop device and restored onto another: btrfs check, a read-only mount
/// and every file's hash, snapshots included. Needs root.</summary>
public sealed class BtrfsRoundTripTests(ITestOutputHelper output) : IDisposable
{
    private const long MiB = 1 << 20;
    private const long DiskBytes = 700 * MiB;
    private const long PartitionStart = 1 * MiB;
    private const long PartitionBytes = 640 * MiB;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void CaptureAndRestoreKeepEveryFileAndSnapshot()
    {
        LoopDevice.RequireRoot();
        BtrfsLoopMount.RequireTools();
        ExternalTool.Require("sfdisk", "fdisk");
        string source = _scratch.SparseFile("source.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", $"label: gpt\nstart={PartitionStart / 512}, size={PartitionBytes / 512}, type=linux, name=root\n",
            "-q", source);
        SortedDictionary<string, string> files;
        long oracle;
        string image = _scratch.File("btrfs.lim");
        CaptureResult captured;
        using (var disk = LoopDevice.Attach(source))
        {
            disk.ScanPartitions();
            string partition = disk.PartitionPath(1);
            ExternalTool.Run("mkfs.btrfs", "-q", "-f", "-L", "li-roundtrip", partition);
            using (var mount = BtrfsLoopMount.Mount(partition, _scratch.File("source.mnt"), "compress=zstd"))
            {
                BtrfsTestVolume.Fill(mount.Directory, seed: 5, copyBytes: 40 * MiB, randomBytes: 60 * MiB, subvolumes: true);
                files = BtrfsTestVolume.HashFiles(mount.Directory);
            }
            oracle = BtrfsTestVolume.OracleUsedBytes(partition);
            captured = new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        }
        FileSystemAnalysis analysis;
        using (var stream = File.OpenRead(source))
        {
            analysis = FileSystemDetector.Analyze(new StreamBlockSource(stream).Slice(PartitionStart, PartitionBytes));
        }
        output.WriteLine($"btrfs block groups {oracle} bytes, map {analysis.Map.UsedBytes} bytes; capture read {captured.DataBytes} bytes "
            + $"of the disk (small gaps between used runs are read too), image {captured.ImageBytes} bytes");
        Assert.Equal("btrfs extent tree", analysis.Method);
        BtrfsTestVolume.AssertUsedBytesNearOracle(analysis.Map.UsedBytes, oracle);
        Assert.True(captured.DataBytes < PartitionBytes / 4, $"capture read {captured.DataBytes} bytes of a {PartitionBytes}-byte partition");

        string target = _scratch.SparseFile("restored.img", DiskBytes);
        using (var restoreTarget = LoopDevice.Attach(target, partitionScan: true))
        {
            RestoreResult result = new RestoreJob(new RestoreOptions(image, [restoreTarget.Path])).Run(CancellationToken.None);
            Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
        }
        Assert.Contains(files.Keys, file => file.StartsWith("snap-ro/", StringComparison.Ordinal));
        using var restored = LoopDevice.Attach(target);
        restored.ScanPartitions();
        BtrfsTestVolume.AssertSound(restored.PartitionPath(1), files, _scratch);
    }
}
