using System.IO.Pipes;
using LiveImager.Engine.Imaging;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>Capture, verify and restore on disk image files: no root needed.</summary>
public sealed class ImagingFileTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableTheory]
    [InlineData("gpt")]
    [InlineData("dos")]
    public void CaptureVerifyRestoreRoundTrip(string table)
    {
        TestDisk disk = TestDisk.Create(_scratch, table);
        string image = _scratch.File("disk.lim");
        var progress = new List<ImagingProgress>();
        var capture = new CaptureJob(new CaptureOptions(disk.Path, image));
        capture.Progress += progress.Add;

        CaptureResult captured = capture.Run(CancellationToken.None);
        VerifyResult verified = new VerifyJob(new VerifyOptions(image, Against: disk.Path)).Run(CancellationToken.None);
        string target = _scratch.SparseFile("restored.img", 0);
        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

        Assert.True(File.Exists(image));
        Assert.False(File.Exists(image + ".partial"));
        Assert.Equal(captured.DataBytes, verified.DataBytes);
        Assert.True(verified.BytesCompared > 0);
        Assert.Equal(4, verified.Metadata.Partitions.Count);
        Assert.Equal(table == "gpt" ? "gpt" : "mbr", verified.Metadata.Table.Kind);
        Assert.True(restored.Succeeded, string.Join("; ", restored.Targets.Select(t => t.Message)));
        Assert.Equal(captured.DataBytes, progress[^1].BytesDone);
        Assert.Equal(progress[^1].BytesTotal, progress[^1].BytesDone);
        // Unpartitioned garbage is not copied, so the image is smaller than the partitions it holds.
        Assert.True(new FileInfo(image).Length < 40L << 20, $"image is {new FileInfo(image).Length} bytes");
        disk.AssertRestored(target, _scratch);
    }

    [SkippableFact]
    public void RestoreOntoALargerDiskMovesTheGptBackupToTheEnd()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        string target = _scratch.SparseFile("larger.img", TestDisk.DiskBytes + (32L << 20));

        RestoreResult result = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

        Assert.True(result.Succeeded, result.Targets[0].Message);
        Assert.Contains("GPT backup moved to the end of the disk", result.Targets[0].Message);
        Assert.Equal(TestDisk.DiskBytes + (32L << 20), new FileInfo(target).Length);
        disk.AssertRestored(target, _scratch);
        Assert.Contains($"last-lba: {(TestDisk.DiskBytes + (32L << 20)) / 512 - 34}", ExternalTool.Run("sfdisk", "-d", target));
    }

    [SkippableFact]
    public void CaptureToAPipeAndRestoreFromAPipe()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string target = _scratch.SparseFile("piped.img", 0);
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);

        Task<CaptureResult> capture = Task.Run(() =>
        {
            try
            {
                return new CaptureJob(new CaptureOptions(disk.Path, "-"), () => server).Run(CancellationToken.None);
            }
            finally
            {
                server.Dispose();
            }
        });
        RestoreResult result = new RestoreJob(new RestoreOptions("-", [target]), () => client).Run(CancellationToken.None);

        Assert.Equal("-", capture.Result.Image);
        Assert.True(result.Succeeded, result.Targets[0].Message);
        disk.AssertRestored(target, _scratch);
    }

    [SkippableFact]
    public void SplitVolumesRestoreAndAMissingVolumeIsNamed()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("split.lim");

        new CaptureJob(new CaptureOptions(disk.Path, image, SplitBytes: 1L << 20)).Run(CancellationToken.None);
        string target = _scratch.SparseFile("restored.img", 0);
        RestoreResult result = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

        Assert.Equal(1L << 20, new FileInfo(image).Length);
        Assert.True(File.Exists(image + ".002"));
        Assert.True(File.Exists(image + ".003"));
        Assert.True(result.Succeeded, result.Targets[0].Message);
        disk.AssertRestored(target, _scratch);

        File.Delete(image + ".002");
        var e = Assert.Throws<DiskFormatException>(() => new VerifyJob(new VerifyOptions(image)).Run(CancellationToken.None));
        Assert.Equal($"image volumes: {image}.002 is missing, but {image}.003 exists", e.Message);
    }

    [SkippableFact]
    public void OneFailingTargetDoesNotStopTheOthers()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        string good = _scratch.SparseFile("good.img", 0);
        string bad = _scratch.File("no-such-directory/bad.img");

        RestoreResult result = new RestoreJob(new RestoreOptions(image, [good, bad])).Run(CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.True(result.Targets[0].Succeeded, result.Targets[0].Message);
        Assert.False(result.Targets[1].Succeeded);
        Assert.StartsWith("refused: ", result.Targets[1].Message);
        disk.AssertRestored(good, _scratch);
    }

    [SkippableFact]
    public void FlippedByteIsNamedByVerifyAndStopsRestore()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image, Level: 1)).Run(CancellationToken.None);
        IndexEntry victim;
        using (var file = new ImageFile(File.OpenRead(image)))
        {
            // A frame with a payload to damage: zero runs store none.
            var entries = file.Index.Entries;
            victim = entries.Zip(entries.Skip(1)).Last(pair => pair.Second.ImageOffset - pair.First.ImageOffset > FrameHeader.Length + 64).First;
        }
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = victim.ImageOffset + FrameHeader.Length + 3;
            int value = stream.ReadByte();
            stream.Position -= 1;
            stream.WriteByte((byte)(value ^ 0x20));
        }

        var verify = Assert.Throws<DiskFormatException>(() => new VerifyJob(new VerifyOptions(image)).Run(CancellationToken.None));
        var restore = Assert.Throws<ImagingException>(() =>
            new RestoreJob(new RestoreOptions(image, [_scratch.SparseFile("t.img", 0)])).Run(CancellationToken.None));

        string frame = $"image frame {victim.FrameNumber} (data, disk bytes {victim.DiskPosition}..{victim.DiskEnd}, image offset {victim.ImageOffset})";
        Assert.StartsWith(frame, verify.Message);
        Assert.EndsWith("the frame is damaged", verify.Message);
        Assert.StartsWith(frame, restore.Message);
        Assert.EndsWith("is partly written and does not hold a usable disk; restore again from a good image", restore.Message);
    }

    [SkippableTheory]
    [InlineData("header", 0x20)]
    [InlineData("metadata", ImageHeader.Length + FrameHeader.Length + 8)]
    public void BadHeaderOrMetadataLeavesTheTargetUntouched(string part, int offset)
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = offset;
            int value = stream.ReadByte();
            stream.Position = offset;
            stream.WriteByte((byte)(value ^ 0x01));
        }
        string target = _scratch.File("target.img");
        var before = new byte[1 << 20];
        new Random(7).NextBytes(before);
        File.WriteAllBytes(target, before);

        var e = Assert.Throws<DiskFormatException>(() => new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None));

        Assert.StartsWith(part == "header" ? "image header: header checksum" : "image frame 0 (metadata, image offset 64)", e.Message);
        Assert.Equal(before, File.ReadAllBytes(target));
    }

    [SkippableFact]
    public void ExistingImageIsKeptUnlessForced()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        File.WriteAllText(image, "precious");

        var e = Assert.Throws<ImagingException>(() => new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None));
        Assert.Equal($"{image} already exists; choose another name or pass --force to replace it", e.Message);
        Assert.Equal("precious", File.ReadAllText(image));

        new CaptureJob(new CaptureOptions(disk.Path, image, Force: true)).Run(CancellationToken.None);
        Assert.Equal(4, new VerifyJob(new VerifyOptions(image)).Run(CancellationToken.None).Metadata.Partitions.Count);
    }

    [SkippableFact]
    public void CancelledCaptureLeavesNoImage()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        using var cancel = new CancellationTokenSource();
        var capture = new CaptureJob(new CaptureOptions(disk.Path, image, Level: 19));
        capture.Progress += _ => cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => capture.Run(cancel.Token));

        Assert.Empty(Directory.GetFiles(_scratch.Path, "disk.lim*"));
    }
}
