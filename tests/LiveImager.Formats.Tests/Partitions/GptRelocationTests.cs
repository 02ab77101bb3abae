using LiveImager.Formats.Partitions;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.Partitions;

public sealed class GptRelocationTests : IDisposable
{
    private const long SmallDisk = 64L << 20;
    private const long LargeDisk = 160L << 20;
    private const string GptScript = "label: gpt\nsize=8M, type=L, name=root\nsize=8M, type=U\ntype=L\n";

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableTheory]
    [InlineData(512)]
    [InlineData(4096)]
    public void Restored_onto_a_larger_disk_sgdisk_finds_no_problems(int sectorSize)
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("sgdisk", "gdisk");
        if (sectorSize != 512)
        {
            LoopDevice.RequireRoot();
        }
        string small = _scratch.SparseFile("small.img", SmallDisk);
        OnDisk(small, sectorSize, device => ExternalTool.RunWithInput("sfdisk", GptScript, "--quiet", "--no-reread", "--no-tell-kernel", device));
        // The larger disk starts as sfdisk's own blank GPT, then receives the small disk's leading table as a restore
        // writes it; its stale backup must then be replaced by the relocation's.
        string large = _scratch.SparseFile("large.img", LargeDisk);
        OnDisk(large, sectorSize, device => ExternalTool.RunWithInput("sfdisk", "label: gpt\n", "--quiet", "--no-reread", "--no-tell-kernel", device));
        int entrySectors = 128 * 128 / sectorSize;
        byte[] leading = SfdiskDisk.ReadBytes(small, 0, (2 + entrySectors) * sectorSize);
        SfdiskDisk.Patch(large, 0, leading);
        OnDisk(large, sectorSize, device =>
            Assert.Contains("Problem", ExternalTool.RunUnchecked("sgdisk", null, "-v", device).StandardOutput));

        var relocation = GptRelocation.Create(leading.AsSpan(sectorSize, sectorSize),
            leading.AsSpan(2 * sectorSize, entrySectors * sectorSize), LargeDisk / sectorSize);
        byte[] mbr = leading[..sectorSize];
        Assert.True(relocation.UpdateProtectiveMbr(mbr));
        SfdiskDisk.Patch(large, 0, mbr);
        SfdiskDisk.Patch(large, sectorSize, relocation.PrimaryHeader);
        SfdiskDisk.Patch(large, relocation.BackupEntriesLba * sectorSize, relocation.BackupEntries);
        SfdiskDisk.Patch(large, relocation.BackupHeaderLba * sectorSize, relocation.BackupHeader);

        OnDisk(large, sectorSize, device =>
        {
            Assert.Contains("No problems found", ExternalTool.Run("sgdisk", "-v", device));
            Assert.Equal(LargeDisk / sectorSize - 2 - entrySectors, SfdiskDisk.LastLba(device));
        });
        IReadOnlyList<SfdiskDisk.SfdiskPartition> before = [];
        IReadOnlyList<SfdiskDisk.SfdiskPartition> after = [];
        OnDisk(small, sectorSize, device => before = SfdiskDisk.Partitions(device));
        OnDisk(large, sectorSize, device => after = SfdiskDisk.Partitions(device));
        Assert.Equal(before.Select(p => (p.Number, p.Start, p.Size, p.Uuid, p.Name)),
            after.Select(p => (p.Number, p.Start, p.Size, p.Uuid, p.Name)));
        using var stream = new FileStream(large, FileMode.Open, FileAccess.Read);
        var table = PartitionTableReader.Read(new StreamBlockSource(stream), sectorSize);
        Assert.Empty(table.Warnings);
        Assert.Equal(new DiskRegion(DiskRegionKind.GptBackup, LargeDisk - (1 + entrySectors) * sectorSize,
            (1 + entrySectors) * sectorSize), table.Regions[^1]);
    }

    [SkippableFact]
    public void A_partition_past_the_new_disk_is_refused()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string small = SfdiskDisk.Create(_scratch, "small.img", SmallDisk, GptScript);
        byte[] leading = SfdiskDisk.ReadBytes(small, 0, 34 * 512);

        var error = Assert.Throws<DiskFormatException>(() =>
            GptRelocation.Create(leading.AsSpan(512, 512), leading.AsSpan(1024, 32 * 512), SmallDisk / 512 / 2));

        Assert.Equal("GPT partition entry 3: EndingLBA = 129023 at byte 1320: past the new disk's last usable sector 65502",
            error.Message);
    }

    [SkippableFact]
    public void A_damaged_header_is_refused()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string small = SfdiskDisk.Create(_scratch, "small.img", SmallDisk, GptScript);
        byte[] leading = SfdiskDisk.ReadBytes(small, 0, 34 * 512);
        leading[1024 + 0x38] ^= 1;

        var error = Assert.Throws<DiskFormatException>(() =>
            GptRelocation.Create(leading.AsSpan(512, 512), leading.AsSpan(1024, 32 * 512), LargeDisk / 512));

        Assert.StartsWith("GPT header: PartitionEntryArrayCRC32 = 0x", error.Message);
    }

    /// <summary>Runs <paramref name="action"/> on the file itself for 512-byte sectors, or on a loop device that
    /// presents it with <paramref name="sectorSize"/>-byte sectors (sfdisk and sgdisk take a file's sectors as 512).</summary>
    private static void OnDisk(string file, int sectorSize, Action<string> action)
    {
        if (sectorSize == 512)
        {
            action(file);
            return;
        }
        using var loop = LoopDevice.Attach(file, sectorSize);
        action(loop.Path);
    }
}
