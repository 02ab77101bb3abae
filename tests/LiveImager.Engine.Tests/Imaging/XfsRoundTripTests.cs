using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.FileSystems.Xfs;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>A GPT disk with one XFS partition, captured by used blocks and restored on loop devices, then judged by
/// xfs_repair -n and every file's hash through a read-only mount.</summary>
public sealed class XfsRoundTripTests : IDisposable
{
    private const long PartitionStart = 1L << 20;
    private const long PartitionBytes = 512L << 20;
    private const long DiskBytes = PartitionStart + PartitionBytes + (1L << 20);

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void XfsPartitionComesBackWholeFromItsUsedBlocks()
    {
        LoopDevice.RequireRoot();
        XfsTestVolume.RequireTools();
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("dd", "coreutils");
        var volume = XfsTestVolume.Create(_scratch, "roundtrip", "-d agsize=80m", PartitionBytes >> 20);
        string disk = _scratch.SparseFile("disk.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk",
            $"label: gpt\nstart={PartitionStart / 512}, size={PartitionBytes / 512}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n",
            "-q", disk);
        ExternalTool.Run("dd", $"if={volume.Path}", $"of={disk}", "bs=1M", $"seek={PartitionStart >> 20}", "conv=sparse,notrunc",
            "status=none");

        string image = _scratch.File("disk.lim");
        CaptureResult capture;
        using (var source = LoopDevice.Attach(disk))
        {
            capture = new CaptureJob(new CaptureOptions(source.Path, image)).Run(CancellationToken.None);
        }
        // The partition is read by its used blocks: the filled tens of MiB, not its 512 MiB.
        Assert.True(capture.DataBytes < PartitionBytes / 4, $"capture read {capture.DataBytes} bytes");
        Assert.Contains("xfs v5 free-space B+trees", capture.Log);

        string target = _scratch.SparseFile("target.img", DiskBytes);
        using (var restoreTarget = LoopDevice.Attach(target, partitionScan: true))
        {
            RestoreResult result = new RestoreJob(new RestoreOptions(image, [restoreTarget.Path])).Run(CancellationToken.None);
            Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
        }
        string partition = _scratch.File("restored-partition.img");
        ExternalTool.Run("dd", $"if={target}", $"of={partition}", "bs=1M", $"skip={PartitionStart >> 20}",
            $"count={PartitionBytes >> 20}", "conv=sparse", "status=none");
        volume.AssertCopyIsComplete(partition, _scratch);
    }
}
