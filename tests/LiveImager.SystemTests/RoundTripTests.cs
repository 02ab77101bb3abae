using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>Whole round trips through the published binary: capture, verify, restore, then the filesystems' own checkers.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class RoundTripTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public RoundTripTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>The demo's disk (GPT: FAT32 EFI, ext4, NTFS, swap, garbage, stale data in free space), split into
    /// volumes, restored onto a blank file, and judged by scripts/check-test-disk.sh: sgdisk -v, fsck.fat, e2fsck,
    /// ntfsfix -n (the alternate boot sector partclone loses), every file's sha256 and the swap UUID.</summary>
    [SkippableFact]
    public void GptDiskWithFatExt4NtfsAndSwapComesBackWhole()
    {
        string binary = PublishedBinary.Require();
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mcopy", "mtools");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) to fill the NTFS partition through ntfs-3g");
        string scripts = Path.GetDirectoryName(RepositoryScripts.Path("make-test-disk.sh"))!;
        string disk = _scratch.File("disk.img");
        ExternalTool.Run("bash", Path.Combine(scripts, "make-test-disk.sh"), disk, "160M");
        string image = _scratch.File("disk.lim");
        string target = _scratch.SparseFile("restored.img", new FileInfo(disk).Length);

        ExternalTool.Run(binary, "capture", disk, image, "--split", "8M");
        ExternalTool.Run(binary, "verify", image);
        ExternalTool.Run(binary, "restore", image, target, "--yes");
        ToolResult check = ExternalTool.RunUnchecked("bash", null, Path.Combine(scripts, "check-test-disk.sh"), target, disk + ".manifest");

        Assert.True(File.Exists(image + ".002"), "an 8 MiB split of this disk has more than one volume");
        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        Assert.Contains("p3 ntfs: ntfsfix -n clean", check.StandardOutput);
        Assert.Contains("all checks passed", check.StandardOutput);
    }

    /// <summary>A freshly made exFAT on a sparse file has only zeros in its free clusters, so a correct used-block copy
    /// gives back the very same bytes.</summary>
    [SkippableFact]
    public void WholeDiskExFatComesBackByteForByte()
    {
        string binary = PublishedBinary.Require();
        ExternalTool.Require("mkfs.exfat", "exfatprogs");
        string disk = _scratch.SparseFile("exfat.img", 48L << 20);
        ExternalTool.Run("mkfs.exfat", "-L", "STICK", disk);
        string image = _scratch.File("exfat.lim");
        string target = _scratch.SparseFile("exfat-restored.img", 48L << 20);

        ExternalTool.Run(binary, "capture", disk, image);
        string info = ExternalTool.Run(binary, "info", image);
        ExternalTool.Run(binary, "restore", image, target, "--yes");

        Assert.Contains("exfat allocation bitmap", info);
        ExternalTool.Run("fsck.exfat", "-n", target);
        Assert.Equal(File.ReadAllBytes(disk), File.ReadAllBytes(target));
    }
}
