using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary><c>capture --forensic</c> of a real loop device (issue 17): every byte read, the loop read-only in the kernel
/// while it is read and writable again after, the hashes equal sha256sum's and md5sum's of the source, a report beside
/// the image, and verify recomputing the hashes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ForensicCaptureTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void ForensicCaptureRecordsTheSourceHashesAndKeepsTheSourceReadOnlyWhileReading()
    {
        LoopDevice.RequireRoot();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("evidence.lim");
        string sha256 = ExternalTool.Run("sha256sum", disk.Path).Split(' ')[0];
        string md5 = ExternalTool.Run("md5sum", disk.Path).Split(' ')[0];
        CaptureResult captured;
        var readOnlyWhileReading = new List<string>();
        string readOnlyAfter;
        using (var loop = LoopDevice.Attach(disk.Path))
        {
            string flag = $"/sys/block/{loop.Name}/ro";
            var capture = new CaptureJob(new CaptureOptions(loop.Path, image,
                Forensic: new ForensicOptions("2026-117", "A. Examiner", "seized laptop, bay 2")));
            capture.Progress += _ => readOnlyWhileReading.Add(File.ReadAllText(flag).Trim());
            captured = capture.Run(CancellationToken.None);
            readOnlyAfter = File.ReadAllText(flag).Trim();
        }

        VerifyResult verified = new VerifyJob(new VerifyOptions(image)).Run(CancellationToken.None);
        string target = _scratch.SparseFile("restored.img", TestDisk.DiskBytes);
        RestoreResult restored = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

        ForensicRecord forensic = captured.Record!.Forensic!;
        Assert.Equal(sha256, forensic.Sha256);
        Assert.Equal(md5, forensic.Md5);
        Assert.Equal(("2026-117", "A. Examiner", "seized laptop, bay 2"), (forensic.Case, forensic.Examiner, forensic.Notes));
        Assert.True(forensic.KernelReadOnly);
        Assert.False(forensic.WasReadOnly);
        Assert.NotEmpty(readOnlyWhileReading);
        Assert.All(readOnlyWhileReading, flag => Assert.Equal("1", flag));
        Assert.Equal("0", readOnlyAfter);
        // Every byte was read, the unpartitioned garbage too.
        Assert.Equal(TestDisk.DiskBytes, captured.DataBytes);
        Assert.Empty(captured.BadRanges!);
        Assert.Equal(sha256, verified.SourceSha256);
        Assert.True(restored.Succeeded, restored.Targets[0].Message);
        Assert.Equal(sha256, ExternalTool.Run("sha256sum", target).Split(' ')[0]);
        // export --format raw gives the evidence back as a file with the recorded hash.
        string raw = _scratch.File("evidence.raw");
        new LiveImager.Engine.Opening.ExportJob(new LiveImager.Engine.Opening.ExportOptions(image, raw, LiveImager.Engine.Opening.ExportFormat.Raw))
            .Run(CancellationToken.None);
        Assert.Equal(sha256, ExternalTool.Run("sha256sum", raw).Split(' ')[0]);
        string report = File.ReadAllText(ForensicReport.PathFor(image));
        Assert.Contains($"SHA-256:           {sha256}", report);
        Assert.Contains($"MD5:               {md5}", report);
        Assert.Contains("Case:              2026-117", report);
        Assert.Contains("Examiner:          A. Examiner", report);
        Assert.Contains($"Size:              {TestDisk.DiskBytes} bytes", report);
        Assert.Contains("Unreadable:        none; every sector was read", report);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ForensicReport.PathFor(image)));
    }

    [SkippableFact]
    public void AFailedForensicCaptureGivesTheSourceItsWritableStateBack()
    {
        LoopDevice.RequireRoot();
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("evidence.lim");
        File.WriteAllText(image, "an earlier image");
        using var loop = LoopDevice.Attach(disk.Path);

        Assert.Throws<ImagingException>(() => new CaptureJob(new CaptureOptions(loop.Path, image, Forensic: new ForensicOptions())).Run(CancellationToken.None));

        Assert.Equal("0", File.ReadAllText($"/sys/block/{loop.Name}/ro").Trim());
    }

    [SkippableFact]
    public void ADamagedForensicImageFailsVerify()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("evidence.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image, Forensic: new ForensicOptions())).Run(CancellationToken.None);
        IndexEntry victim;
        using (var file = new ImageFile(File.OpenRead(image)))
        {
            var entries = file.Index.Entries;
            victim = entries.Zip(entries.Skip(1)).Last(pair => pair.Second.ImageOffset - pair.First.ImageOffset > FrameHeader.Length + 64).First;
            Assert.False(file.Record!.Forensic!.KernelReadOnly);
        }
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = victim.ImageOffset + FrameHeader.Length + 7;
            int value = stream.ReadByte();
            stream.Position -= 1;
            stream.WriteByte((byte)(value ^ 0x40));
        }

        var e = Assert.Throws<DiskFormatException>(() => new VerifyJob(new VerifyOptions(image)).Run(CancellationToken.None));

        Assert.StartsWith($"image frame {victim.FrameNumber} (data", e.Message);
    }
}
