using LiveImager.Engine.Devices;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>A restore turns zero-run frames and, with --zero-unused, the unused ranges into BLKZEROOUT on a device and
/// punched holes in a file, never into written zeros; on targets full of random bytes. The loop case needs root.</summary>
public sealed class RestoreZerosTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string RandomFile(string name, int length)
    {
        var content = new byte[length];
        new Random(length ^ name.Length).NextBytes(content);
        string path = _scratch.File(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Bytes the file's blocks take on disk (stat's st_blocks × 512).</summary>
    private static long AllocatedBytes(string path) => long.Parse(ExternalTool.Run("stat", "--format=%b", path).Trim()) * 512;

    /// <summary>A source whose every other 4 MiB chunk is zeros captures to zero-run frames; restored onto a file and a
    /// loop device full of random bytes, the bytes come back exactly, and the file holds no blocks for the zeros.</summary>
    [SkippableFact]
    public void ZeroRunFramesAreZeroedNotWrittenOnRestore()
    {
        LoopDevice.RequireRoot();
        const int chunk = 4 << 20;
        const int diskBytes = 16 * chunk;
        var source = new byte[diskBytes];
        var random = new Random(7);
        for (int i = 0; i < 16; i += 2)
        {
            random.NextBytes(source.AsSpan(i * chunk, chunk));
        }
        string sourcePath = _scratch.File("zeros-source.img");
        File.WriteAllBytes(sourcePath, source);
        string image = _scratch.File("zeros.lim");
        new CaptureJob(new CaptureOptions(sourcePath, image)).Run(CancellationToken.None);

        string fileTarget = RandomFile("zeros-file-target.img", diskBytes);
        string loopBacking = RandomFile("zeros-loop-target.img", diskBytes);
        using (var loop = LoopDevice.Attach(loopBacking))
        {
            RestoreResult result = new RestoreJob(new RestoreOptions(image, [fileTarget, loop.Path])).Run(CancellationToken.None);
            Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
            using var device = BlockDevice.OpenRead(loop.Path);
            var readBack = new byte[diskBytes];
            device.ReadAt(0, readBack);
            Assert.Equal(source, readBack);
        }
        Assert.Equal(source, File.ReadAllBytes(fileTarget));
        Assert.Equal(source, File.ReadAllBytes(loopBacking));
        long allocated = AllocatedBytes(fileTarget);
        Assert.True(allocated <= diskBytes / 2 + (1 << 20), $"{allocated} bytes allocated for {diskBytes / 2} bytes of data");
    }

    /// <summary>--zero-unused on a file full of random bytes: what the image does not hold reads as zeros and takes no
    /// blocks, and the filesystems still check out.</summary>
    [SkippableFact]
    public void ZeroUnusedPunchesTheUnusedRangesOfAFile()
    {
        TestDisk.RequireTools();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        CaptureResult capture = new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        string target = RandomFile("zero-unused.img", (int)TestDisk.DiskBytes);

        RestoreResult result = new RestoreJob(new RestoreOptions(image, [target], ZeroUnused: true)).Run(CancellationToken.None);

        Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
        disk.AssertRestored(target, _scratch);
        long allocated = AllocatedBytes(target);
        Assert.True(allocated <= capture.DataBytes + (1 << 20), $"{allocated} bytes allocated for {capture.DataBytes} bytes of data");
        // Past the last partition the disk holds nothing of the image (the GPT backup aside): zeros now.
        byte[] restored = File.ReadAllBytes(target);
        long lastEnd = TestDisk.Layout.Max(p => p.Start + p.Size);
        Assert.DoesNotContain(restored.AsSpan((int)lastEnd, (int)(TestDisk.DiskBytes - lastEnd - (1 << 20))).ToArray(), b => b != 0);
    }
}
