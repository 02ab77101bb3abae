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

    [SkippableFact]
    public void Restored_onto_a_larger_disk_sgdisk_finds_no_problems()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("sgdisk", "gdisk");
        string small = SfdiskDisk.Create(_scratch, "small.img", SmallDisk, GptScript);
        // The larger disk starts as sfdisk's own blank GPT, then receives the small disk's leading table as a restore
        // writes it; its stale backup must then be replaced by the relocation's.
        string large = SfdiskDisk.Create(_scratch, "large.img", LargeDisk, "label: gpt\n");
        byte[] leading = SfdiskDisk.ReadBytes(small, 0, 34 * 512);
        SfdiskDisk.Patch(large, 0, leading);
        Assert.Contains("Problem", ExternalTool.RunUnchecked("sgdisk", null, "-v", large).StandardOutput);

        var relocation = GptRelocation.Create(leading.AsSpan(512, 512), leading.AsSpan(1024, 32 * 512), LargeDisk / 512);
        byte[] mbr = leading[..512];
        Assert.True(relocation.UpdateProtectiveMbr(mbr));
        SfdiskDisk.Patch(large, 0, mbr);
        SfdiskDisk.Patch(large, 512, relocation.PrimaryHeader);
        SfdiskDisk.Patch(large, relocation.BackupEntriesLba * 512, relocation.BackupEntries);
        SfdiskDisk.Patch(large, relocation.BackupHeaderLba * 512, relocation.BackupHeader);

        string verify = ExternalTool.Run("sgdisk", "-v", large);
        Assert.Contains("No problems found", verify);
        Assert.Equal(LargeDisk / 512 - 34, SfdiskDisk.LastLba(large));
        Assert.Equal(SfdiskDisk.Partitions(small).Select(p => (p.Start, p.Size, p.Uuid, p.Name)),
            SfdiskDisk.Partitions(large).Select(p => (p.Start, p.Size, p.Uuid, p.Name)));
        using var stream = new FileStream(large, FileMode.Open, FileAccess.Read);
        var table = PartitionTableReader.Read(new StreamBlockSource(stream), 512);
        Assert.Empty(table.Warnings);
        Assert.Equal(new DiskRegion(DiskRegionKind.GptBackup, LargeDisk - 33 * 512, 33 * 512), table.Regions[^1]);
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
}
