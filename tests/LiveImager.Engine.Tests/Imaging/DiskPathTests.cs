using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>The rule every disk path of a job passes (capture's source, restore's targets, verify's --against): an
/// existing block device or regular file, and under /dev a block device; a mistyped name is refused, never created.</summary>
public sealed class DiskPathTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void AMistypedDiskNameUnderDevIsRefusedAndNotCreated()
    {
        string typo = $"/dev/sdzz-liveimager-{Guid.NewGuid():N}";

        var e = Assert.Throws<DiskPathException>(() => DiskPath.Check(typo, DiskRole.RestoreTarget));

        Assert.Equal($"{typo} does not exist: no disk has that name; liveimager list shows the disks. Nothing was done", e.Message);
        Assert.Equal(typo, e.Path);
        Assert.False(File.Exists(typo));
    }

    [Fact]
    public void AMissingFileIsRefusedWithHowToMakeOne()
    {
        string missing = _scratch.File("new-disk.img");

        var e = Assert.Throws<DiskPathException>(() => DiskPath.Check(missing, DiskRole.RestoreTarget));

        Assert.Equal($"{missing} does not exist: a restore target is an existing disk (liveimager list shows them) or file; " +
            $"to restore into a new disk image file, create it first (touch {missing}: it grows to the source disk's size). Nothing was done", e.Message);
        Assert.False(File.Exists(missing));
    }

    [Theory]
    [InlineData(DiskRole.Source, "the disk to capture")]
    [InlineData(DiskRole.Comparison, "the disk to compare with (--against)")]
    public void AMissingSourceOrComparisonDiskIsRefusedNamingWhatItIsFor(DiskRole role, string what)
    {
        string missing = _scratch.File("absent.img");

        var e = Assert.Throws<DiskPathException>(() => DiskPath.Check(missing, role));

        Assert.Equal($"{missing} does not exist: {what} is an existing disk (liveimager list shows them) or file. Nothing was done", e.Message);
    }

    [Fact]
    public void ACharacterDeviceUnderDevIsRefused()
    {
        var e = Assert.Throws<DiskPathException>(() => DiskPath.Check("/dev/null", DiskRole.RestoreTarget));

        Assert.Equal("/dev/null is not a block device: under /dev only a disk is a restore target; liveimager list shows the disks. Nothing was done", e.Message);
    }

    [SkippableFact]
    public void ARegularFileUnderDevIsRefused()
    {
        Skip.IfNot(Directory.Exists("/dev/shm"), "needs /dev/shm for a regular file under /dev");
        string file = $"/dev/shm/liveimager-test-{Guid.NewGuid():N}.img";
        try
        {
            File.WriteAllBytes(file, new byte[4096]);

            var e = Assert.Throws<DiskPathException>(() => DiskPath.Check(file, DiskRole.RestoreTarget));

            Assert.StartsWith($"{file} is not a block device: under /dev only a disk is a restore target", e.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ALinkIntoDevIsJudgedByWhatItNames()
    {
        string link = _scratch.File("looks-like-a-file.img");
        File.CreateSymbolicLink(link, "/dev/null");

        var e = Assert.Throws<DiskPathException>(() => DiskPath.Check(link, DiskRole.RestoreTarget));

        Assert.StartsWith($"{link} is not a block device", e.Message);
    }

    [Theory]
    [InlineData("-")]
    [InlineData("")]
    public void StandardOutputAndTheEmptyNameAreNoDisk(string path)
    {
        var e = Assert.Throws<DiskPathException>(() => DiskPath.Check(path, DiskRole.RestoreTarget));

        Assert.Equal($"'{path}' is not a disk or file: a restore target is an existing disk (liveimager list shows them) or file", e.Message);
    }

    [Fact]
    public void ADirectoryIsRefused()
    {
        string directory = Directory.CreateDirectory(_scratch.File("dir")).FullName;

        var e = Assert.Throws<DiskPathException>(() => DiskPath.Check(directory, DiskRole.RestoreTarget));

        Assert.Equal($"{directory} is neither a disk nor a regular file, so it cannot be a restore target. Nothing was done", e.Message);
    }

    [Fact]
    public void AnExistingFileIsAccepted()
    {
        DiskPath.CheckAll([_scratch.SparseFile("a.img", 0), _scratch.SparseFile("b.img", 1 << 20)], DiskRole.RestoreTarget);
    }

    [SkippableFact]
    public void ABlockDeviceIsAccepted()
    {
        LoopDevice.RequireRoot();
        using LoopDevice loop = LoopDevice.Attach(_scratch.SparseFile("loop.img", 8L << 20));

        DiskPath.Check(loop.Path, DiskRole.RestoreTarget);
    }

    /// <summary>The jobs take the rule themselves, so the TUI and unattended runs get it too: a restore onto a missing
    /// path writes nothing and creates nothing; a verify against one stops before the image is opened.</summary>
    [SkippableFact]
    public void TheJobsRefuseAMissingDiskBeforeTheyWrite()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        string missing = _scratch.File("typo.img");

        var restore = Assert.Throws<ImagingException>(() => new RestoreJob(new RestoreOptions(image, [missing])).Run(CancellationToken.None));
        var verify = Assert.Throws<DiskPathException>(() =>
            new VerifyJob(new VerifyOptions(_scratch.File("no-image.lim"), Against: missing)).Run(CancellationToken.None));
        var capture = Assert.Throws<DiskPathException>(() =>
            new CaptureJob(new CaptureOptions(missing, _scratch.File("new.lim"))).Run(CancellationToken.None));

        Assert.StartsWith($"{missing}: refused: {missing} does not exist: a restore target is an existing disk", restore.Message);
        Assert.StartsWith($"{missing} does not exist: the disk to compare with", verify.Message);
        Assert.StartsWith($"{missing} does not exist: the disk to capture", capture.Message);
        Assert.False(File.Exists(missing));
        Assert.False(File.Exists(_scratch.File("new.lim")) || File.Exists(_scratch.File("new.lim.partial")));
    }
}
