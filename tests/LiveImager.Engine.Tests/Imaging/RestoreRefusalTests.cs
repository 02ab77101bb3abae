using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>A restore that cannot finish never starts (issue 17): an image file that is cut short or damaged is
/// refused before the target is opened, and a stream that fails midway says exactly how much of the target it wrote.
/// The targets are files holding other data whose checksum is taken before the restore.</summary>
public sealed partial class RestoreRefusalTests : IDisposable
{
    private const int Sector = 512;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void TruncatedImageFileIsRefusedBeforeWriting()
    {
        string image = Capture();
        // As a copy to a share that ran out of space leaves it: the data frames stop partway.
        Cut(image, new FileInfo(image).Length * 9 / 10);
        string target = OtherData("target.img");
        string before = Sha256(target);

        var e = Assert.Throws<DiskFormatException>(() => Restore(image, target));

        Assert.Contains("truncated", e.Message);
        Assert.Equal(before, Sha256(target));
    }

    [SkippableFact]
    public void DamagedIndexIsRefusedBeforeWriting()
    {
        string image = Capture();
        long indexOffset;
        using (var file = new ImageFile(File.OpenRead(image)))
        {
            indexOffset = file.Footer.IndexOffset;
        }
        FrameDamage.FlipByte(image, indexOffset + FrameHeader.Length + 5);
        string target = OtherData("target.img");
        string before = Sha256(target);

        var e = Assert.Throws<DiskFormatException>(() => Restore(image, target));

        Assert.StartsWith($"image frame", e.Message);
        Assert.Contains($"image offset {indexOffset}", e.Message);
        Assert.Equal(before, Sha256(target));
    }

    [SkippableFact]
    public void DamagedFrameHeaderNamedByTheIndexIsRefusedBeforeWriting()
    {
        string image = Capture();
        IndexEntry victim;
        using (var file = new ImageFile(File.OpenRead(image)))
        {
            victim = file.Index.Entries[file.Index.Entries.Count * 3 / 4];
        }
        // The frame's disk position: its header checksum no longer matches.
        FrameDamage.FlipByte(image, victim.ImageOffset + 0x10);
        string target = OtherData("target.img");
        string before = Sha256(target);

        var e = Assert.Throws<DiskFormatException>(() => Restore(image, target));

        Assert.Contains($"image offset {victim.ImageOffset}", e.Message);
        Assert.Equal(before, Sha256(target));
    }

    [SkippableFact]
    public void DamagedFrameDataIsRefusedBeforeWritingWithVerifyFirst()
    {
        string image = Capture();
        IndexEntry victim;
        using (var file = new ImageFile(File.OpenRead(image)))
        {
            var entries = file.Index.Entries;
            victim = entries.Zip(entries.Skip(1)).Last(pair => pair.Second.ImageOffset - pair.First.ImageOffset > FrameHeader.Length + 64).First;
        }
        FrameDamage.FlipByte(image, victim.ImageOffset + FrameHeader.Length + 3);
        string target = OtherData("target.img");
        string before = Sha256(target);

        var e = Assert.Throws<DiskFormatException>(() =>
            new RestoreJob(new RestoreOptions(image, [target], VerifyFirst: true)).Run(CancellationToken.None));

        Assert.StartsWith($"image frame {victim.FrameNumber} (data", e.Message);
        Assert.EndsWith("the frame is damaged", e.Message);
        Assert.Equal(before, Sha256(target));
    }

    [SkippableFact]
    public void TruncatedImageFromAStreamFailsMidwayWithTheBytesWritten()
    {
        string image = Capture();
        Cut(image, new FileInfo(image).Length * 9 / 10);
        string target = OtherData("target.img");
        byte[] original = File.ReadAllBytes(target);

        // As a network pipe that stalls and then drops: the frames before the cut reach the target first.
        var e = Assert.Throws<ImagingException>(() =>
            new RestoreJob(new RestoreOptions("-", [target]), () => new StallingStream(File.OpenRead(image))).Run(CancellationToken.None));

        Match written = WrittenCount().Match(e.Message);
        Assert.True(written.Success, e.Message);
        Assert.Contains("truncated", e.Message);
        long count = long.Parse(written.Groups[1].Value);
        Assert.True(count > 0, e.Message);
        // Every sector of the target started with its own marker, which no written sector carries: the sectors
        // that changed are the ones written.
        byte[] after = File.ReadAllBytes(target);
        long changed = 0;
        for (int offset = 0; offset < original.Length; offset += Sector)
        {
            if (!original.AsSpan(offset, Sector).SequenceEqual(after.AsSpan(offset, Sector)))
            {
                changed += Sector;
            }
        }
        Assert.Equal(changed, count);
    }

    [SkippableFact]
    public void DamageFoundBeforeTheFirstWriteSaysNothingWasWritten()
    {
        string image = Capture();
        // Cut inside the first data frame: the stream fails before any frame reaches the target.
        long firstFrame;
        using (var file = new ImageFile(File.OpenRead(image)))
        {
            firstFrame = file.Index.Entries[0].ImageOffset;
        }
        Cut(image, firstFrame + FrameHeader.Length + 10);
        string target = OtherData("target.img");
        string before = Sha256(target);

        var e = Assert.Throws<ImagingException>(() =>
            new RestoreJob(new RestoreOptions("-", [target]), () => File.OpenRead(image)).Run(CancellationToken.None));

        Assert.EndsWith($"The restore stopped: nothing was written to {target}; it is unchanged", e.Message);
        Assert.DoesNotContain("partly written", e.Message);
        Assert.Equal(before, Sha256(target));
    }

    /// <summary>A pipe that delivers its bytes, waits a moment at their end, then ends.</summary>
    private sealed class StallingStream(Stream inner) : ForwardReadStream
    {
        private bool _stalled;

        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer);
            if (read == 0 && !_stalled)
            {
                _stalled = true;
                Thread.Sleep(TimeSpan.FromSeconds(2));
            }
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    [GeneratedRegex(@"(\d+) bytes of .* were written before the damage was found")]
    private static partial Regex WrittenCount();

    private string Capture()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        return image;
    }

    private static RestoreResult Restore(string image, string target) =>
        new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);

    /// <summary>A target as large as the test disk whose every sector begins with its own marker.</summary>
    private string OtherData(string name)
    {
        string path = _scratch.File(name);
        var bytes = new byte[TestDisk.DiskBytes];
        for (int offset = 0; offset < bytes.Length; offset += Sector)
        {
            Encoding.ASCII.GetBytes($"other data, sector {offset / Sector}").CopyTo(bytes, offset);
        }
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void Cut(string image, long length)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
