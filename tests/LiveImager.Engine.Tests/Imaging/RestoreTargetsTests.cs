using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>A restore onto several targets where some fail while being written: each target's own progress and
/// result, on real loop devices whose backing files sit on a tmpfs too small for the image. These need root.</summary>
public sealed class RestoreTargetsTests : IDisposable
{
    private const long SmallStoreBytes = 2L << 20;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void ATargetThatFillsUpIsDroppedWithItsErrorAndTheOtherIsRestored()
    {
        LoopDevice.RequireRoot();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        string goodFile = _scratch.SparseFile("good.img", TestDisk.DiskBytes);
        using var smallStore = SmallStore.Mount(_scratch.File("small-store"));
        string fullFile = smallStore.SparseFile("full.img", TestDisk.DiskBytes);
        var reports = new List<ImagingProgress>();
        RestoreResult result;
        string good, full;
        using (var goodDisk = LoopDevice.Attach(goodFile, partitionScan: true))
        using (var fullDisk = LoopDevice.Attach(fullFile))
        {
            (good, full) = (goodDisk.Path, fullDisk.Path);
            var job = new RestoreJob(new RestoreOptions(image, [good, full]));
            job.Progress += reports.Add;
            result = job.Run(CancellationToken.None);
        }

        Assert.False(result.Succeeded);
        Assert.False(result.Cancelled);
        Assert.Equal([good, full], result.Targets.Select(t => t.Target));
        Assert.True(result.Targets[0].Succeeded, result.Targets[0].Message);
        Assert.False(result.Targets[1].Succeeded);
        Assert.StartsWith("failed after ", result.Targets[1].Message);
        Assert.EndsWith($"{full} is partly written and does not hold a usable disk", result.Targets[1].Message);
        // Zero runs count as done without taking the store's space (the kernel zeroes them), so the count may pass the
        // store's size; what matters is that the target stopped short of the image.
        Assert.True(result.Targets[1].BytesWritten < result.DataBytes,
            $"{result.Targets[1].BytesWritten} of {result.DataBytes} bytes on a {SmallStoreBytes}-byte store");
        disk.AssertRestored(goodFile, _scratch);

        // Every report carries both targets, in the order given.
        Assert.All(reports, r => Assert.Equal([good, full], r.Targets!.Select(t => t.Target)));
        RestoreTargetProgress[] last = [.. reports[^1].Targets!];
        long total = reports[^1].BytesTotal;
        Assert.Equal(new RestoreTargetProgress(good, RestoreTargetState.Done, total, total, last[0].BytesPerSecond, TimeSpan.Zero, null), last[0]);
        Assert.True(last[0].BytesPerSecond > 0);
        Assert.Equal(RestoreTargetState.Failed, last[1].State);
        Assert.True(last[1].BytesDone < total, $"the full target took {last[1].BytesDone} of {total} bytes");
        Assert.Equal((0d, null), (last[1].BytesPerSecond, last[1].Remaining));
        Assert.NotNull(last[1].Error);
        Assert.Contains(full, last[1].Error);
        Assert.Contains(last[1].Error!, result.Targets[1].Message);
        // The good target was seen flushing once every frame was written, while the full one stayed failed.
        Assert.Contains(reports, r => r.Targets![0].State == RestoreTargetState.Finishing && r.Targets[1].State == RestoreTargetState.Failed);
        Assert.Equal(total, result.DataBytes);
    }

    [SkippableFact]
    public void WhenEveryTargetFailsTheImageIsNotReadToTheEndAndEachErrorIsReported()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("sfdisk", "fdisk");
        // One partition of no known filesystem is copied whole: many frames, quick to make since they are zeros.
        const long diskBytes = 256L << 20;
        string source = _scratch.SparseFile("source.img", diskBytes);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, type=linux\n", "-q", source);
        string image = _scratch.File("large.lim");
        new CaptureJob(new CaptureOptions(source, image)).Run(CancellationToken.None);
        using var smallStore = SmallStore.Mount(_scratch.File("small-store"));
        string refused = _scratch.File("no-such-directory/refused.img");
        var reports = new List<ImagingProgress>();
        RestoreResult result;
        string first, second;
        using (var firstDisk = LoopDevice.Attach(smallStore.SparseFile("first.img", diskBytes)))
        using (var secondDisk = LoopDevice.Attach(smallStore.SparseFile("second.img", diskBytes)))
        {
            (first, second) = (firstDisk.Path, secondDisk.Path);
            var job = new RestoreJob(new RestoreOptions(image, [first, refused, second]));
            job.Progress += reports.Add;
            result = job.Run(CancellationToken.None);
        }

        Assert.False(result.Succeeded);
        Assert.False(result.Cancelled);
        Assert.Equal([first, refused, second], result.Targets.Select(t => t.Target));
        Assert.All(result.Targets, t => Assert.False(t.Succeeded));
        Assert.StartsWith("failed after ", result.Targets[0].Message);
        Assert.StartsWith("refused: ", result.Targets[1].Message);
        Assert.StartsWith("failed after ", result.Targets[2].Message);
        long total = reports[^1].BytesTotal;
        Assert.True(result.DataBytes < total / 2, $"read {result.DataBytes} of {total} bytes with no target left to write");
        RestoreTargetProgress[] last = [.. reports[^1].Targets!];
        Assert.All(last, t => Assert.Equal(RestoreTargetState.Failed, t.State));
        Assert.Equal(result.Targets[1].Message, last[1].Error);
        Assert.All(last, t => Assert.False(string.IsNullOrEmpty(t.Error)));
    }

    /// <summary>A tmpfs of <see cref="SmallStoreBytes"/> mounted on a directory, unmounted on Dispose.</summary>
    private sealed class SmallStore : IDisposable
    {
        private readonly string _path;

        private SmallStore(string path) => _path = path;

        public static SmallStore Mount(string path)
        {
            ExternalTool.Require("mount", "mount");
            Directory.CreateDirectory(path);
            ExternalTool.Run("mount", "-t", "tmpfs", "-o", $"size={SmallStoreBytes}", "tmpfs", path);
            return new SmallStore(path);
        }

        /// <summary>A sparse file larger than the store: it fills up once more than the store's size is written.</summary>
        public string SparseFile(string name, long bytes)
        {
            string file = Path.Combine(_path, name);
            using (var stream = File.Create(file))
            {
                stream.SetLength(bytes);
            }
            return file;
        }

        public void Dispose() => ExternalTool.Run("umount", _path);
    }
}
