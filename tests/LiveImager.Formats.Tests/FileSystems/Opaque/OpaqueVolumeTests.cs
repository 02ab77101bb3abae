using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Opaque;

/// <summary>Volumes whose contents cannot be mapped (encrypted, or an LVM PV in no VG): each is named, with
/// its UUID as blkid prints it, and copied whole with the reason.</summary>
public sealed class OpaqueVolumeTests
{
    private const long VolumeBytes = 32L << 20;

    [SkippableTheory]
    [InlineData("luks1", 1)]
    [InlineData("luks2", 2)]
    public void LuksVolumeIsNamedAndCopiedWhole(string type, int version)
    {
        ExternalTool.Require("cryptsetup", "cryptsetup-bin");
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("luks.img", VolumeBytes);
        var args = new List<string> { "luksFormat", "--batch-mode", "--type", type, "--key-file", "-",
            "--uuid", "5a0c2b1e-7d4f-4e3a-9b8c-0123456789ab", "--pbkdf-force-iterations", "1000" };
        if (version == 2)
        {
            // LUKS2 alone carries a label; a cheap PBKDF keeps the test fast (the key is not the point).
            args.AddRange(["--label", "secretdata", "--pbkdf", "pbkdf2"]);
        }
        args.Add(image);
        ExternalTool.RunWithInput("cryptsetup", "test passphrase", [.. args]);

        var analysis = Analyze(image);

        Assert.Equal(FileSystemKind.Luks, analysis.Kind);
        Assert.Equal($"whole copy: LUKS{version} encrypted volume", analysis.Method);
        Assert.True(analysis.IsWholeCopy);
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
        Assert.Equal("crypto_LUKS", Blkid(image, "TYPE"));
        Assert.Equal(Blkid(image, "UUID"), analysis.Uuid);
        Assert.Equal(Blkid(image, "LABEL"), analysis.Label);
    }

    /// <summary>No tool here makes BitLocker volumes, so this one is what BitLocker does to an NTFS volume's boot sector:
    /// its OEM name becomes "-FVE-FS-". blkid agrees it is BitLocker, and it must not be mapped as NTFS.</summary>
    [SkippableFact]
    public void BitLockerVolumeIsNamedAndCopiedWhole()
    {
        ExternalTool.Require("mkntfs", "ntfs-3g");
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("bitlocker.img", VolumeBytes);
        ExternalTool.Run("mkntfs", "-F", "-Q", image);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 3;
            stream.Write("-FVE-FS-"u8);
        }

        var analysis = Analyze(image);

        Assert.Equal("BitLocker", Blkid(image, "TYPE"));
        Assert.Equal(FileSystemKind.BitLocker, analysis.Kind);
        Assert.Equal("whole copy: BitLocker encrypted volume", analysis.Method);
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
    }

    /// <summary>BitLocker To Go keeps a FAT32 boot sector whose FAT calls the encrypted data free: mapped as FAT, the
    /// user's data would be skipped. Its boot sector carries BitLocker's GUID at 0x1A8, as blkid checks.</summary>
    [SkippableFact]
    public void BitLockerToGoVolumeIsNotMappedAsFat()
    {
        ExternalTool.Require("mkfs.fat", "dosfstools");
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("togo.img", VolumeBytes);
        ExternalTool.Run("mkfs.fat", "-F", "32", image);
        ImageBytes.Patch(image, 0x1A8, Guid.Parse("4967d63b-2e29-4ad8-8399-f6a339e3d001").ToByteArray());

        var analysis = Analyze(image);

        Assert.Equal(FileSystemKind.BitLocker, analysis.Kind);
        Assert.Equal("whole copy: BitLocker encrypted volume", analysis.Method);
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
    }

    /// <summary>A real PV in no VG: pvcreate refuses plain files, so it writes through a loop device (no device-mapper
    /// needed). VGs and their LVs are tested in Lvm/LvmModuleTests.</summary>
    [SkippableFact]
    public void LvmPhysicalVolumeIsNamedAndCopiedWhole()
    {
        Privileges.RequireLoopDevices("pvcreate needs a loop device, which needs root");
        ExternalTool.Require("pvcreate", "lvm2");
        ExternalTool.Require("losetup", "mount");
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("pv.img", VolumeBytes);
        string loop = ExternalTool.Run("losetup", "-f", "--show", image).Trim();
        try
        {
            ExternalTool.Run("pvcreate", "--norestorefile", "-u", "Wm3Ya1-Q7rS-2bXc-8dEf-Gh4i-Jk5L-mN6oPq", loop);
        }
        finally
        {
            ExternalTool.Run("losetup", "-d", loop);
        }

        var analysis = Analyze(image);

        Assert.Equal("LVM2_member", Blkid(image, "TYPE"));
        Assert.Equal(FileSystemKind.LvmPhysicalVolume, analysis.Kind);
        Assert.Equal("whole copy: LVM2 physical volume in no volume group", analysis.Method);
        Assert.Equal(Blkid(image, "UUID"), analysis.Uuid);
        Assert.Equal("Wm3Ya1-Q7rS-2bXc-8dEf-Gh4i-Jk5L-mN6oPq", analysis.Uuid);
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
    }

    [Fact]
    public void LuksHeaderOfAnUnknownVersionIsStillCopiedWhole()
    {
        var head = new byte[1 << 20];
        byte[] magic = [(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE, 0x00, 0x07];
        magic.CopyTo(head, 0);

        var analysis = FileSystemDetector.Analyze(new StreamBlockSource(new MemoryStream(head)));

        Assert.Equal(FileSystemKind.Luks, analysis.Kind);
        Assert.Equal("whole copy: luks metadata could not be trusted", analysis.Method);
        Assert.Equal("LUKS header: version = 7 at byte 6: expected 1 or 2", Assert.Single(analysis.Warnings));
    }

    private static FileSystemAnalysis Analyze(string image)
    {
        using var stream = File.OpenRead(image);
        return FileSystemDetector.Analyze(new StreamBlockSource(stream));
    }

    private static string? Blkid(string image, string tag)
    {
        ExternalTool.Require("blkid", "util-linux");
        string value = ExternalTool.RunUnchecked("blkid", null, "-p", "-o", "value", "-s", tag, image).StandardOutput.Trim();
        return value.Length == 0 ? null : value;
    }
}
