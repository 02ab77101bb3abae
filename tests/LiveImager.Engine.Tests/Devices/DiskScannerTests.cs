using LiveImager.Engine.Devices;
using LiveImager.Engine.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Devices;

/// <summary>DiskScanner on the fixture trees of real layouts; every field of every disk is checked.</summary>
public sealed class DiskScannerTests
{
    private const long Sector = 512;

    private static DiskPartition Part(string name, string dev, int number, long start, long size, string? mountPoint = null) =>
        new(name, $"/dev/{name}", dev, number, start * Sector, size * Sector, mountPoint);

    [Fact]
    public void NvmeLaptopDiskWithMountedPartitionsAndSwap()
    {
        var disks = FixtureTree.Scanner("nvme-laptop").Scan();
        var expected = new DiskInfo(
            "nvme0n1", "/dev/nvme0n1", "259:0", 1953525168 * Sector, 512, 512,
            Rotational: false, Removable: false, ReadOnly: false, DiskTransport.Nvme,
            Vendor: null, Model: "Samsung SSD 980 PRO 1TB", Serial: "S5GXNF0R123456A", Wwn: "eui.002538b111b2c3d4",
            [
                Part("nvme0n1p1", "259:1", 1, 2048, 1048576, "/boot/efi"),
                Part("nvme0n1p2", "259:2", 2, 1050624, 1919918080, "/"),
                Part("nvme0n1p3", "259:3", 3, 1920968704, 32555008),
            ],
            [],
            InUse: true,
            "nvme0n1p1 is mounted at /boot/efi; nvme0n1p2 is mounted at /, /media/my disk; nvme0n1p3 is active swap",
            IsBootMedium: false);
        Assert.Equivalent(new[] { expected }, disks, strict: true);
    }

    [Fact]
    public void LiveSystemOnAUsbStickWithASecondStickAndAnInternalSsd()
    {
        var disks = FixtureTree.Scanner("live-usb").Scan();
        DiskInfo[] expected =
        [
            new("loop0", "/dev/loop0", "7:0", 2588672 * Sector, 512, 512, false, false, false, DiskTransport.Loop,
                null, "/run/live/medium/live/filesystem.squashfs", null, null, [], [],
                true, "loop0 is mounted at /run/live/rootfs/filesystem.squashfs", false),
            new("sda", "/dev/sda", "8:0", 976773168 * Sector, 512, 512, false, false, false, DiskTransport.Sata,
                "ATA", "Samsung SSD 860", "S3Z9NB0K123456X", "0x5002538e40a1b2c3",
                [Part("sda1", "8:1", 1, 2048, 1050624), Part("sda2", "8:2", 2, 1052672, 975718400)], [],
                false, null, false),
            new("sdb", "/dev/sdb", "8:16", 60063744 * Sector, 512, 512, true, true, false, DiskTransport.Usb,
                "USB", "SanDisk 3.2Gen1", "4C530001230518117042", null,
                [Part("sdb1", "8:17", 1, 64, 2713600, "/run/live/medium"), Part("sdb2", "8:18", 2, 2713664, 10240)], [],
                true, "sdb1 is mounted at /run/live/medium; sdb holds the live system's boot medium (/run/live/medium)", true),
            new("sdc", "/dev/sdc", "8:32", 60437492 * Sector, 512, 512, true, true, false, DiskTransport.Usb,
                "Kingston", "DataTraveler 3.0", "E0D55EA573F1E4B0A9A40B2C", null,
                [Part("sdc1", "8:33", 1, 2048, 60435444)], [],
                false, null, false),
        ];
        Assert.Equivalent(expected, disks, strict: true);
    }

    [Fact]
    public void SataDisksInAnMdMirrorAndA4KnDisk()
    {
        var disks = FixtureTree.Scanner("sata-md").Scan();
        DiskInfo[] expected =
        [
            new("sda", "/dev/sda", "8:0", 3907029168 * Sector, 512, 4096, true, false, false, DiskTransport.Sata,
                "ATA", "ST2000DM008-2FR1", "ZFL0A1B2", "0x5000c500a1b2c3d4",
                [Part("sda1", "8:1", 1, 2048, 3907026944)], ["md0 (raid1)"],
                true, "sda1 is held by md0 (raid1)", false),
            new("sdb", "/dev/sdb", "8:16", 3907029168 * Sector, 512, 4096, true, false, false, DiskTransport.Sata,
                "ATA", "ST2000DM008-2FR1", "ZFL0C3D4", null,
                [Part("sdb1", "8:17", 1, 2048, 3907026944)], ["md0 (raid1)"],
                true, "sdb1 is held by md0 (raid1)", false),
            new("sdc", "/dev/sdc", "8:32", 7814037168 * Sector, 4096, 4096, true, false, false, DiskTransport.Sata,
                "ATA", "HGST HUS726T4TAL", "V6G1ABCD", "0x5000cca0bbc1d2e3", [], [],
                false, null, false),
        ];
        Assert.Equivalent(expected, disks, strict: true);
    }

    [Fact]
    public void VirtualMachineWithVirtioLoopAndMmcDevices()
    {
        var disks = FixtureTree.Scanner("vm-loop").Scan();
        DiskInfo[] expected =
        [
            new("loop0", "/dev/loop0", "7:0", 65536 * Sector, 512, 512, false, false, false, DiskTransport.Loop,
                null, "/var/tmp/test disk.img", null, null, [Part("loop0p1", "259:0", 1, 2048, 63488)], [],
                false, null, false),
            new("mmcblk0", "/dev/mmcblk0", "179:0", 124735488 * Sector, 512, 512, false, false, false, DiskTransport.Mmc,
                null, "SC64G", "0x8a1b2c3d", null, [Part("mmcblk0p1", "179:1", 1, 8192, 124727296, "/media/user/SC64G")], [],
                true, "mmcblk0p1 is mounted at /media/user/SC64G", false),
            new("vda", "/dev/vda", "254:0", 536870912 * Sector, 512, 4096, true, false, false, DiskTransport.Virtio,
                null, null, "177663114587525", null, [], [],
                true, "vda is mounted at /", false),
            new("vdb", "/dev/vdb", "254:16", 20971520 * Sector, 512, 512, true, false, false, DiskTransport.Virtio,
                null, null, null, null, [Part("vdb1", "254:17", 1, 2048, 20969472)], [],
                false, null, false),
        ];
        Assert.Equivalent(expected, disks, strict: true);
    }

    [Fact]
    public void LvmPhysicalVolumeWithMountedRootAndActiveSwapVolumes()
    {
        var disks = FixtureTree.Scanner("lvm").Scan();
        var expected = new DiskInfo(
            "sda", "/dev/sda", "8:0", 976773168 * Sector, 512, 4096, false, false, false, DiskTransport.Sata,
            "ATA", "CT500MX500SSD1", "2034E4A1B2C3", "0x500a0751e1a2b3c4",
            [Part("sda1", "8:1", 1, 2048, 1048576, "/boot/efi"), Part("sda2", "8:2", 2, 1050624, 975720448)],
            ["dm-0 (LVM vg0-root)", "dm-1 (LVM vg0-swap)"],
            true, "sda1 is mounted at /boot/efi; sda2 is held by dm-0 (LVM vg0-root); sda2 is held by dm-1 (LVM vg0-swap)", false);
        Assert.Equivalent(new[] { expected }, disks, strict: true);
    }

    [Theory]
    [InlineData("devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda", "sda", DiskTransport.Sata)]
    [InlineData("devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb", "sdb", DiskTransport.Usb)]
    [InlineData("devices/pci0000:00/0000:00:03.0/0000:02:00.0/host0/port-0:0/end_device-0:0/target0:0:0/0:0:0:0/block/sda", "sda", DiskTransport.Sas)]
    [InlineData("devices/pci0000:00/0000:00:10.0/host2/target2:0:0/2:0:0:0/block/sda", "sda", DiskTransport.Scsi)]
    [InlineData("devices/pci0000:00/0000:00:04.0/virtio2/host0/target0:0:0/0:0:0:0/block/sda", "sda", DiskTransport.Scsi)]
    [InlineData("devices/pci0000:00/0000:00:02.0/virtio1/block/vda", "vda", DiskTransport.Virtio)]
    [InlineData("devices/pci0000:00/0000:00:1d.0/0000:03:00.0/nvme/nvme0/nvme0n1", "nvme0n1", DiskTransport.Nvme)]
    [InlineData("devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/host3/target3:0:0/3:0:0:0/block/sdd", "sdd", DiskTransport.Usb)]
    [InlineData("devices/platform/soc/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0", "mmcblk0", DiskTransport.Mmc)]
    [InlineData("devices/virtual/block/loop7", "loop7", DiskTransport.Loop)]
    [InlineData("devices/virtual/block/nbd0", "nbd0", DiskTransport.Nbd)]
    [InlineData("devices/vbd-51712/block/xvda", "xvda", DiskTransport.Unknown)]
    public void TransportComesFromTheSysfsPath(string devicePath, string name, string transport)
    {
        Assert.Equal(transport, DiskTransport.FromSysfsPath(devicePath, name));
    }

    [Fact]
    public void FindDiskResolvesAPartitionToItsDisk()
    {
        var scanner = FixtureTree.Scanner("nvme-laptop");
        Assert.Equal("nvme0n1", scanner.FindDisk("259:2")?.Name);
        Assert.Equal("nvme0n1", scanner.FindDisk("259:0")?.Name);
        Assert.Null(scanner.FindDisk("8:0"));
    }

    [Fact]
    public void ABootMediumMountPointIsAParameter()
    {
        string root = FixtureTree.Path("live-usb");
        var scanner = new DiskScanner(Path.Combine(root, "sys"), Path.Combine(root, "proc"), "/dev", bootMediumMountPoint: "/elsewhere");
        Assert.DoesNotContain(scanner.Scan(), disk => disk.IsBootMedium);
    }

    [Fact]
    public void MissingRootsGiveNoDisksRatherThanAnError()
    {
        var scanner = new DiskScanner("/nonexistent/sys", "/nonexistent/proc");
        Assert.Empty(scanner.Scan());
    }

    [SkippableFact]
    public void ThisMachinesScanAgreesWithTheKernel()
    {
        var disks = new DiskScanner().Scan();
        Skip.If(disks.Count == 0, "no /sys/block here");
        foreach (var disk in disks)
        {
            Assert.Equal(File.ReadAllText($"/sys/block/{disk.Name}/dev").Trim(), disk.DeviceNumber);
            Assert.Equal(long.Parse(File.ReadAllText($"/sys/block/{disk.Name}/size")) * Sector, disk.SizeBytes);
        }
    }
}
