using System.Security.Cryptography;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>Encrypted images (issue 15) through the jobs: round trips unsplit, split, from a pipe and on loop devices;
/// a wrong passphrase, damage and a swapped volume refused with the target untouched; no plaintext in the file.</summary>
public sealed class EncryptedImagingTests : IDisposable
{
    private const string Secret = "a passphrase for the test disk";
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>The cheapest KDF a reader accepts, so the tests stay fast; the default is RFC 9106's.</summary>
    private static ImagePassphrase Passphrase(string text = Secret) => new(text) { NewImageKdf = KdfParameters.Minimum };

    private string Capture(TestDisk disk, string name, long split = 0)
    {
        string image = _scratch.File(name);
        using ImagePassphrase passphrase = Passphrase();
        new CaptureJob(new CaptureOptions(disk.Path, image, SplitBytes: split, Passphrase: passphrase)).Run(CancellationToken.None);
        return image;
    }

    private static RestoreResult Restore(string image, string target, string passphrase = Secret, bool verifyFirst = false,
        Func<Stream>? standardInput = null)
    {
        using ImagePassphrase key = Passphrase(passphrase);
        return new RestoreJob(new RestoreOptions(image, [target], VerifyFirst: verifyFirst, Passphrase: key), standardInput).Run(CancellationToken.None);
    }

    [SkippableFact]
    public void UnsplitSplitAndPipedImagesComeBackWhole()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string whole = Capture(disk, "whole.lim");
        string split = Capture(disk, "split.lim", split: 4L << 20);
        Assert.True(File.Exists(split + ".002"));

        foreach (string image in (string[])[whole, split])
        {
            string target = _scratch.SparseFile(Path.GetFileName(image) + ".img", TestDisk.DiskBytes);
            RestoreResult result = Restore(image, target, verifyFirst: image == split);
            Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
            disk.AssertRestored(target, _scratch);
        }
        string piped = _scratch.SparseFile("piped.img", TestDisk.DiskBytes);
        Assert.True(Restore("-", piped, standardInput: () => new OneWayStream(File.OpenRead(whole))).Succeeded);
        disk.AssertRestored(piped, _scratch);

        using (ImagePassphrase key = Passphrase())
        {
            VerifyResult verified = new VerifyJob(new VerifyOptions(whole, Passphrase: key)).Run(CancellationToken.None);
            Assert.True(verified.DataBytes > 0);
        }
        SealedStructure structure = VerifyJob.CheckStructure(split, null, CancellationToken.None);
        Assert.True(structure.Frames > 4);
        StoredImage listed = ImageCatalog.List(_scratch.Path).Single(i => i.Name == "whole.lim");
        Assert.True(listed.Encrypted);
        Assert.True(listed.Complete);
    }

    [SkippableFact]
    public void CaptureFromALoopDeviceAndRestoreOntoOne()
    {
        LoopDevice.RequireRoot();
        TestDisk disk = TestDisk.Create(_scratch, "dos");
        string image = _scratch.File("loop.lim");
        using (var source = LoopDevice.Attach(disk.Path))
        using (ImagePassphrase key = Passphrase())
        {
            new CaptureJob(new CaptureOptions(source.Path, image, Passphrase: key)).Run(CancellationToken.None);
            Assert.True(new VerifyJob(new VerifyOptions(image, Against: source.Path, Passphrase: key)).Run(CancellationToken.None).BytesCompared > 0);
        }
        string targetFile = _scratch.SparseFile("target.img", TestDisk.DiskBytes);
        using (var target = LoopDevice.Attach(targetFile, partitionScan: true))
        {
            Assert.True(Restore(image, target.Path).Succeeded);
        }
        disk.AssertRestored(targetFile, _scratch);
    }

    [SkippableFact]
    public void AWrongPassphraseIsOneMessageAndTheTargetIsUntouched()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = Capture(disk, "disk.lim");
        string target = OtherData("target.img");
        string before = Sha256(target);

        var wrong = Assert.Throws<ImagePassphraseException>(() => Restore(image, target, passphrase: "a passphrase for the test disk!"));
        var none = Assert.Throws<ImagePassphraseException>(() => new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None));

        Assert.Equal("the passphrase is not this image's (or its header or key header was altered); nothing was read further or written", wrong.Message);
        Assert.Contains("the image is encrypted: give its passphrase", none.Message);
        Assert.Equal(before, Sha256(target));
    }

    /// <summary>The TUI's check of a typed passphrase: the sealed listing has no metadata; unlocked with the right
    /// passphrase it has the disk's, and a wrong one is refused as such.</summary>
    [SkippableFact]
    public void UnlockReadsTheSealedMetadataOnlyUnderTheRightPassphrase()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = Capture(disk, "disk.lim");

        StoredImage listed = ImageCatalog.Describe(image);
        using ImagePassphrase right = Passphrase();
        StoredImage unlocked = ImageCatalog.Unlock(image, right);
        using ImagePassphrase wrongPassphrase = Passphrase("a passphrase for the test disk!");
        var wrong = Assert.Throws<ImagePassphraseException>(() => ImageCatalog.Unlock(image, wrongPassphrase));

        Assert.True(listed.Encrypted);
        Assert.Null(listed.Metadata);
        Assert.True(unlocked.Encrypted && unlocked.Complete && unlocked.Restorable);
        Assert.Equal(new FileInfo(disk.Path).Length, unlocked.Metadata!.Source.SizeBytes);
        Assert.Equal(listed.SizeBytes, unlocked.SizeBytes);
        Assert.True(wrong.Refused);
    }

    [SkippableFact]
    public void DamageIsNamedByFrameAndFoundBeforeWritingWhereItCanBe()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = Capture(disk, "disk.lim");
        IndexEntry victim;
        using (ImagePassphrase key = Passphrase())
        using (var file = new ImageFile(File.OpenRead(image), key))
        {
            // A frame with a payload of some size (not a zero run, whose sealed body is its header and tag alone).
            var entries = file.Index.Entries;
            victim = entries.Zip(entries.Skip(1)).Last(pair => pair.Second.ImageOffset - pair.First.ImageOffset > 4096).First;
        }
        string target = OtherData("target.img");
        string before = Sha256(target);

        // The outer header (its sealed length): the check of every frame header finds it before the target opens.
        byte[] original = File.ReadAllBytes(image);
        FrameDamage.FlipByte(image, victim.ImageOffset + 0x1C);
        var header = Assert.Throws<DiskFormatException>(() => Restore(image, target));
        Assert.Contains($"image offset {victim.ImageOffset}", header.Message);
        Assert.Equal(before, Sha256(target));

        // A payload byte: --verify-first opens every frame before the target opens.
        File.WriteAllBytes(image, original);
        FrameDamage.FlipByte(image, victim.ImageOffset + FrameHeader.Length + 1000);
        var payload = Assert.Throws<DiskFormatException>(() => Restore(image, target, verifyFirst: true));
        Assert.StartsWith($"image frame {victim.FrameNumber} (data, sealed, image offset {victim.ImageOffset})", payload.Message);
        Assert.Contains("authentication tag", payload.Message);
        Assert.Equal(before, Sha256(target));

        // Without it the restore stops at that frame and says what it wrote: nothing when the reader reached the frame
        // before the first write landed (a fast machine), else that the target is partly written.
        var midway = Assert.Throws<ImagingException>(() => Restore(image, target));
        Assert.Contains($"image frame {victim.FrameNumber} (data, sealed, image offset {victim.ImageOffset})", midway.Message);
        Assert.Contains(Sha256(target) == before ? "it is unchanged" : "partly written", midway.Message);
    }

    [SkippableFact]
    public void AVolumeOfAnotherEncryptedImageOfTheSameDiskIsRefused()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string one = Capture(disk, "one.lim", split: 4L << 20);
        string two = Capture(disk, "two.lim", split: 4L << 20);
        File.Copy(two + ".002", one + ".002", overwrite: true);
        string target = OtherData("target.img");
        string before = Sha256(target);

        var e = Assert.ThrowsAny<Exception>(() => Restore(one, target));

        Assert.True(e is DiskFormatException or ImagingException, e.ToString());
        Assert.Contains("one.lim.002", e.Message);
        Assert.Equal(before, Sha256(target));
    }

    [SkippableFact]
    public void TheImageHoldsNoPlaintextOfTheDisk()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string encrypted = Capture(disk, "secret.lim");
        string plain = _scratch.File("plain.lim");
        new CaptureJob(new CaptureOptions(disk.Path, plain)).Run(CancellationToken.None);
        byte[] diskBytes = File.ReadAllBytes(disk.Path);
        byte[] file0 = File.ReadAllBytes(Path.Combine(disk.Path + ".files", "file0.bin"));
        byte[][] known =
        [
            file0.AsSpan(40_000, 64).ToArray(),
            diskBytes.AsSpan((int)TestDisk.Layout[2].Start + 1000, 64).ToArray(),
            diskBytes.AsSpan((int)TestDisk.Layout[3].Start + 4086, 10).ToArray(),
        ];
        byte[] plainBytes = File.ReadAllBytes(plain);
        byte[] encryptedBytes = File.ReadAllBytes(encrypted);
        foreach (byte[] piece in known)
        {
            // The search finds them in the plain image (stored raw there), so finding nothing below means something.
            Assert.True(plainBytes.AsSpan().IndexOf(piece) >= 0);
            Assert.True(encryptedBytes.AsSpan().IndexOf(piece) < 0);
        }
        Assert.Equal("SWAPSPACE2"u8.ToArray(), known[2]);
    }

    private string OtherData(string name)
    {
        string path = _scratch.File(name);
        var bytes = new byte[TestDisk.DiskBytes];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    /// <summary>A pipe: read once, front to back.</summary>
    private sealed class OneWayStream(Stream inner) : ForwardReadStream
    {
        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        protected override void Dispose(bool disposing)
        {
            inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
