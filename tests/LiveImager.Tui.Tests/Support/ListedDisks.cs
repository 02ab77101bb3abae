using LiveImager.Tui;

namespace LiveImager.Tui.Tests.Support;

/// <summary>A disk source that lists the disks a test gives it: the screens' input, as disk discovery would report it.</summary>
internal sealed class ListedDisks(params DiskChoice[] disks) : IDiskSource
{
    public static readonly DiskChoice SystemDisk = new("sda", "/dev/sda", 500_107_862_016, "Samsung SSD 860", "S3Z9NB0K123456", "sata",
        [new("sda1", "vfat", 536_870_912, 33_554_432), new("sda2", "ext4", 499_570_991_104, 120_000_000_000)], "sda2 is mounted at /", false);

    public static readonly DiskChoice BootStick = new("sdb", "/dev/sdb", 32_015_679_488, "SanDisk Ultra", "4C530001230811", "usb",
        [new("sdb1", "iso9660", 1_200_000_000, 1_200_000_000)], null, true);

    public static readonly DiskChoice SpareDisk = new("sdc", "/dev/sdc", 256_060_514_304, "Crucial MX500", "2031E2A1B2C3", "sata",
        [new("sdc1", "ntfs", 256_059_465_728, 64_000_000_000)], null, false);

    public static readonly DiskChoice SmallDisk = new("sdd", "/dev/sdd", 64_023_257_088, "Kingston A400", "50026B7782A1", "sata", [], null, false);

    public static ListedDisks Typical() => new(SystemDisk, BootStick, SpareDisk, SmallDisk);

    public Task<IReadOnlyList<DiskChoice>> ScanAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<DiskChoice>>(disks);
}
