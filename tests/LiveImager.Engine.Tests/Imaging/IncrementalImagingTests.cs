using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.FileSystems.Ext;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>Incremental images (issue 16) through the jobs, on the demo's disk: a full capture, then two incremental
/// ones after the disk was changed on a loop device, each link restored and judged by check-test-disk.sh against the
/// disk as it was at its capture; an unchanged disk; consolidation; a missing, replaced or damaged base refused.</summary>
public sealed class IncrementalImagingTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>The demo's disk at 512 MiB (EFI, ext4, NTFS, swap, garbage), filled less than the demo's so that the
    /// changes fit; returns the disk and its manifest.</summary>
    private (string Disk, string Manifest) DemoDisk()
    {
        LoopDevice.RequireRoot();
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mcopy", "mtools");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) for NTFS through ntfs-3g");
        string disk = _scratch.File("disk.img");
        ExternalTool.Run("env", "TEST_DISK_EXT4_FILL=40", "TEST_DISK_NTFS_FILL=35", "bash", RepositoryScripts.Path("make-test-disk.sh"), disk, "512M");
        return (disk, disk + ".manifest");
    }

    private string Capture(string disk, string name, string? onBase = null, bool force = false) =>
        new CaptureJob(new CaptureOptions(disk, _scratch.File(name), Force: force, Base: onBase)).Run(CancellationToken.None).Image;

    private static void Change(string disk, string manifestIn, string manifestOut, int newMib) =>
        ExternalTool.Run("bash", RepositoryScripts.Path("change-test-disk.sh"), disk, manifestIn, manifestOut, newMib.ToString());

    private void AssertRestoresTo(string image, string manifest, long diskBytes)
    {
        string target = _scratch.SparseFile(Path.GetFileName(image) + ".restored", diskBytes);
        RestoreResult result = new RestoreJob(new RestoreOptions(image, [target])).Run(CancellationToken.None);
        Assert.True(result.Succeeded, string.Join("; ", result.Targets.Select(t => t.Message)));
        ToolResult check = ExternalTool.RunUnchecked("bash", null, RepositoryScripts.Path("check-test-disk.sh"), target, manifest);
        Assert.True(check.ExitCode == 0, $"{image}: {check.StandardOutput}{check.StandardError}");
        Assert.Contains("all checks passed", check.StandardOutput);
        File.Delete(target);
    }

    [SkippableFact]
    public void EachLinkOfAChainRestoresTheDiskAsItWasAndConsolidationStandsAlone()
    {
        (string disk, string manifest0) = DemoDisk();
        long diskBytes = new FileInfo(disk).Length;
        string monday = Capture(disk, "monday.lim");
        string manifest1 = _scratch.File("tuesday.manifest");
        Change(disk, manifest0, manifest1, 100);
        CaptureResult tuesdayCapture = new CaptureJob(new CaptureOptions(disk, _scratch.File("tuesday.lim"), Base: "monday.lim")).Run(CancellationToken.None);
        string tuesday = tuesdayCapture.Image;
        string manifest2 = _scratch.File("wednesday.manifest");
        Change(disk, manifest1, manifest2, 30);
        string wednesday = Capture(disk, "wednesday.lim", onBase: tuesday);

        long full = new FileInfo(monday).Length;
        long second = new FileInfo(tuesday).Length;
        long third = new FileInfo(wednesday).Length;
        Assert.True(tuesdayCapture.ReferencedBytes > 0 && tuesdayCapture.ReferencedBytes < tuesdayCapture.DataBytes,
            $"referenced {tuesdayCapture.ReferencedBytes} of {tuesdayCapture.DataBytes}");
        // 100 MiB of random files are stored whole; 30 MiB the next time: each link holds what changed, not the disk.
        Assert.True(second >= 100L << 20, $"tuesday {second}");
        Assert.True(third < second && third >= 30L << 20, $"wednesday {third}, tuesday {second}");
        AssertRestoresTo(monday, manifest0, diskBytes);
        AssertRestoresTo(tuesday, manifest1, diskBytes);
        AssertRestoresTo(wednesday, manifest2, diskBytes);
        Assert.True(new VerifyJob(new VerifyOptions(wednesday)).Run(CancellationToken.None).DataBytes > 0);

        // Replacing a base others depend on is refused, --force or not.
        var replace = Assert.Throws<ImagingException>(() => Capture(disk, "monday.lim", force: true));
        Assert.Contains("is the base of tuesday.lim", replace.Message);

        string consolidated = _scratch.File("wednesday-full.lim");
        ConsolidateResult result = new ConsolidateJob(new ConsolidateOptions(wednesday, consolidated)).Run(CancellationToken.None);
        Assert.Equal(2, result.Links);
        Assert.True(result.FromBases > 0);
        File.Move(monday, _scratch.File("monday.away"));
        File.Move(tuesday, _scratch.File("tuesday.away"));
        AssertRestoresTo(consolidated, manifest2, diskBytes);
        using var file = new ImageFile(ImageInput.OpenVolumes(consolidated));
        Assert.False(file.Header.IsIncremental);
        Assert.Null(file.Metadata.Base);
    }

    [SkippableFact]
    public void AnUnchangedDiskStoresAtMostOnePercentAndMissingReplacedOrDamagedBasesAreRefused()
    {
        (string disk, string manifest) = DemoDisk();
        long diskBytes = new FileInfo(disk).Length;
        string full = Capture(disk, "full.lim");
        string again = Capture(disk, "again.lim", onBase: "full.lim");
        Assert.True(new FileInfo(again).Length <= new FileInfo(full).Length / 100,
            $"unchanged: {new FileInfo(again).Length} bytes on a {new FileInfo(full).Length}-byte full image");
        AssertRestoresTo(again, manifest, diskBytes);

        string target = _scratch.SparseFile("target.img", diskBytes);
        string before = ExtTestImage.Sha256(target);

        // Missing.
        File.Move(full, _scratch.File("full.away"));
        var missing = Assert.Throws<ImagingException>(() => new RestoreJob(new RestoreOptions(again, [target])).Run(CancellationToken.None));
        Assert.Contains("is incremental on full.lim", missing.Message);
        Assert.Contains("which is not at", missing.Message);
        Assert.Equal(before, ExtTestImage.Sha256(target));

        // Replaced by another image of the same name (the same disk, captured again: another id).
        Capture(disk, "full.lim");
        var replaced = Assert.Throws<ImagingException>(() => new RestoreJob(new RestoreOptions(again, [target])).Run(CancellationToken.None));
        Assert.Contains("is another image", replaced.Message);
        Assert.Equal(before, ExtTestImage.Sha256(target));
        File.Delete(_scratch.File("full.lim"));
        File.Move(_scratch.File("full.away"), full);

        // A damaged frame header in the base: found before the target is opened.
        IndexEntry referenced = FirstReferencedStoredFrame(again, full);
        byte[] original = File.ReadAllBytes(full);
        FrameDamage.FlipByte(full, referenced.ImageOffset + 0x10);
        var header = Assert.Throws<ImagingException>(() => new RestoreJob(new RestoreOptions(again, [target])).Run(CancellationToken.None));
        Assert.Contains("the base image", header.Message);
        Assert.Contains("damaged", header.Message);
        Assert.Equal(before, ExtTestImage.Sha256(target));

        // A damaged payload in the base: --verify-first finds it before writing; a plain restore names the base's frame.
        File.WriteAllBytes(full, original);
        FrameDamage.FlipPayloadByte(full, _ => referenced);
        Assert.ThrowsAny<Exception>(() => new RestoreJob(new RestoreOptions(again, [target], VerifyFirst: true)).Run(CancellationToken.None));
        Assert.Equal(before, ExtTestImage.Sha256(target));
        var payload = Assert.Throws<ImagingException>(() => new RestoreJob(new RestoreOptions(again, [target])).Run(CancellationToken.None));
        Assert.Contains($"base image {full}", payload.Message);
        Assert.Contains($"image frame {referenced.FrameNumber} (data", payload.Message);
    }

    [SkippableFact]
    public void ABaseOfAnotherLayoutIsRefusedBeforeAnythingIsWritten()
    {
        TestDisk gpt = TestDisk.Create(_scratch, "gpt");
        new CaptureJob(new CaptureOptions(gpt.Path, _scratch.File("gpt.lim"))).Run(CancellationToken.None);
        TestDisk dos = TestDisk.Create(_scratch, "dos", "dos.img");
        var refused = Assert.Throws<ImagingException>(() =>
            new CaptureJob(new CaptureOptions(dos.Path, _scratch.File("dos.lim"), Base: "gpt.lim")).Run(CancellationToken.None));
        Assert.Contains("was not captured from this disk", refused.Message);
        Assert.False(File.Exists(_scratch.File("dos.lim")) || File.Exists(_scratch.File("dos.lim.partial")));
    }

    /// <summary>A frame of <paramref name="image"/>'s base that <paramref name="image"/> references and that holds stored bytes.</summary>
    private static IndexEntry FirstReferencedStoredFrame(string image, string baseImage)
    {
        using var top = new ImageFile(ImageInput.OpenVolumes(image));
        using var bottom = new ImageFile(ImageInput.OpenVolumes(baseImage));
        foreach (IndexEntry entry in top.Index.Entries)
        {
            if (top.ReadDataHeader(entry).Encoding != FrameEncoding.Reference)
            {
                continue;
            }
            IndexEntry held = bottom.Index.Entries[ImageChain.Find(bottom.Index.Entries, entry.DiskPosition)];
            if (bottom.ReadDataHeader(held).StoredLength > 100)
            {
                return held;
            }
        }
        throw new InvalidOperationException("no referenced frame with stored bytes");
    }
}
