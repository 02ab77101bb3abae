using LiveImager.Engine.Devices;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Devices;

/// <summary>A "to RAM" boot: the medium is not mounted, only its ISO volume id on the kernel command line names it.
/// A real xorriso image on a real loop device.</summary>
public sealed class BootMediumTests : IDisposable
{
    private const string VolumeId = "2026-11-25-12-34-56-78";
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void TheDiskCarryingTheNamedVolumeIdIsTheBootMediumAndNeverATarget()
    {
        LoopDevice.RequireRoot();
        using LoopDevice loop = LoopDevice.Attach(MakeIso());
        DiskScanner scanner = ScannerWithCommandLine($"BOOT_IMAGE=/live/vmlinuz boot=live toram liveimager.medium={VolumeId} quiet");

        DiskInfo disk = scanner.Scan().Single(d => d.Name == loop.Name);

        Assert.True(disk.IsBootMedium);
        Assert.True(disk.InUse);
        Assert.Equal($"{loop.Name} is the live system's boot medium (ISO volume {VolumeId})", disk.InUseReason);
        var refusal = Assert.Throws<ImagingException>(() => DiskGuard.CheckTarget(loop.Path, scanner));
        Assert.Contains("in use", refusal.Message);
        Assert.Throws<ImagingException>(() => DiskGuard.CheckSource(loop.Path, scanner));
    }

    [SkippableFact]
    public void AnotherBuildsVolumeIdOrNoneLeavesTheDiskFree()
    {
        LoopDevice.RequireRoot();
        using LoopDevice loop = LoopDevice.Attach(MakeIso());

        DiskInfo other = ScannerWithCommandLine("boot=live liveimager.medium=2026-11-25-12-34-56-79").Scan().Single(d => d.Name == loop.Name);
        DiskInfo unnamed = ScannerWithCommandLine("boot=live").Scan().Single(d => d.Name == loop.Name);

        Assert.False(other.IsBootMedium);
        Assert.False(other.InUse);
        Assert.False(unnamed.IsBootMedium);
    }

    /// <summary>Disks without an ISO (a blank loop device) are read and found not to be the medium.</summary>
    [SkippableFact]
    public void ADiskWithoutAnIsoIsNotTheMedium()
    {
        LoopDevice.RequireRoot();
        using LoopDevice loop = LoopDevice.Attach(_scratch.SparseFile("blank.img", 4 << 20));
        DiskInfo disk = ScannerWithCommandLine($"liveimager.medium={VolumeId}").Scan().Single(d => d.Name == loop.Name);
        Assert.False(disk.IsBootMedium);
    }

    private DiskScanner ScannerWithCommandLine(string commandLine)
    {
        string file = _scratch.File($"cmdline-{Guid.NewGuid():N}");
        File.WriteAllText(file, commandLine + "\n");
        // The mount point is elsewhere so that only the volume id can name the medium.
        return new DiskScanner(bootMediumMountPoint: "/nonexistent/medium", kernelCommandLine: file);
    }

    private string MakeIso()
    {
        ExternalTool.Require("xorriso", "xorriso");
        string root = _scratch.File("root");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "liveimager.conf"), "after = shell\n");
        string iso = _scratch.File("medium.iso");
        ExternalTool.Run("xorriso", "-volume_date", "uuid", VolumeId.Replace("-", ""), "-as", "mkisofs", "-quiet", "-o", iso, root);
        return iso;
    }
}
