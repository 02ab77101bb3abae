using System.Buffers.Binary;
using System.IO.Hashing;
using LiveImager.Formats.Partitions;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.Partitions;

public sealed class PartitionTableReaderTests : IDisposable
{
    private const long DiskBytes = 64L << 20;
    private const string MbrScript = "label: dos\n,8M,83\n,8M,c\n,,5\n,4M,83\n,4M,82\n,,83\n";
    private const string GptScript = "label: gpt\nsize=8M, type=L, name=root\nsize=8M, type=U\ntype=L\n";

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void Mbr_with_extended_and_logical_partitions_matches_sfdisk()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "mbr.img", DiskBytes, MbrScript);

        var table = Read(path, 512);

        Assert.Equal(PartitionTableKind.Mbr, table.Kind);
        Assert.Empty(table.Warnings);
        AssertMatchesSfdisk(SfdiskDisk.Partitions(path), table);
        Assert.Equal([1, 2, 5, 6, 7], table.Partitions.Select(p => p.Number));
        AssertRegionsCoverTheRest(table);
        // The MBR sector, the boot loader gap up to partition 1, and one table sector per EBR (three logicals).
        Assert.Equal(new DiskRegion(DiskRegionKind.PartitionTable, 0, 512), table.Regions[0]);
        Assert.Equal(new DiskRegion(DiskRegionKind.BootLoaderGap, 512, 2048 * 512 - 512), table.Regions[1]);
        Assert.Equal(4, table.Regions.Count(r => r.Kind == DiskRegionKind.PartitionTable));
        Assert.Equal(table.ExtendedPartition!.StartBytes,
            table.Regions.Where(r => r.Kind == DiskRegionKind.PartitionTable).ElementAt(1).StartBytes);
    }

    [SkippableFact]
    public void Gpt_matches_sfdisk_and_its_regions_are_exact()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "gpt.img", DiskBytes, GptScript);

        var table = Read(path, 512);

        Assert.Equal(PartitionTableKind.Gpt, table.Kind);
        Assert.Empty(table.Warnings);
        var expected = SfdiskDisk.Partitions(path);
        AssertMatchesSfdisk(expected, table);
        Assert.Equal("root", table.Partitions[0].Name);
        Assert.Null(table.Partitions[1].Name);
        Assert.Equal(expected.Select(p => p.Uuid!.ToLowerInvariant()), table.Partitions.Select(p => p.Uuid));
        Assert.Equal("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", table.Partitions[1].Type);
        // sfdisk: 128 entries of 128 bytes (32 sectors) after the header; partitions 2048..129023; the last usable
        // sector 131038; the backup array and header in the last 33 sectors of 131072.
        DiskRegion[] regions =
        [
            new(DiskRegionKind.PartitionTable, 0, 34 * 512),
            new(DiskRegionKind.BootLoaderGap, 34 * 512, (2048 - 34) * 512),
            new(DiskRegionKind.Unpartitioned, 129024L * 512, (131039 - 129024) * 512),
            new(DiskRegionKind.GptBackup, 131039L * 512, 33 * 512),
        ];
        Assert.Equal(regions, table.Regions);
        Assert.Equal(131038, SfdiskDisk.LastLba(path));
    }

    [SkippableTheory]
    // The leading table: the protective MBR, the header and 16 KiB of entries in 4 KiB sectors; or the MBR alone.
    [InlineData("label: gpt\nsize=8M, type=L\nsize=8M, type=S\ntype=L\n", 6 * 4096)]
    [InlineData("label: dos\n,8M,83\n,,5\n,4M,83\n,,83\n", 4096)]
    public void Layouts_with_4096_byte_sectors_match_sfdisk(string script, long leadingTableBytes)
    {
        ExternalTool.Require("sfdisk", "fdisk");
        LoopDevice.RequireRoot();
        string path = _scratch.SparseFile("4k.img", DiskBytes);
        IReadOnlyList<SfdiskDisk.SfdiskPartition> expected;
        using (var loop = LoopDevice.Attach(path, 4096))
        {
            ExternalTool.RunWithInput("sfdisk", script, "--quiet", "--no-reread", "--no-tell-kernel", loop.Path);
            expected = SfdiskDisk.Partitions(loop.Path);
        }

        var table = Read(path, 4096);

        Assert.Empty(table.Warnings);
        Assert.Equal(4096, table.SectorSize);
        AssertMatchesSfdisk(expected, table);
        AssertRegionsCoverTheRest(table);
        Assert.Equal(new DiskRegion(DiskRegionKind.PartitionTable, 0, leadingTableBytes), table.Regions[0]);
    }

    [SkippableFact]
    public void Hybrid_mbr_reads_the_gpt_with_a_warning()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("sgdisk", "gdisk");
        string path = SfdiskDisk.Create(_scratch, "hybrid.img", DiskBytes, GptScript);
        ExternalTool.Run("sgdisk", "-h", "1", path);

        var table = Read(path, 512);

        Assert.Equal(PartitionTableKind.Gpt, table.Kind);
        AssertMatchesSfdisk(SfdiskDisk.Partitions(path), table);
        Assert.Equal("hybrid MBR: 1 MBR partition record(s) beside the GPT protective record; the GPT is used and " +
            "the MBR records are kept as they are", Assert.Single(table.Warnings));
    }

    [SkippableFact]
    public void Zeroed_primary_gpt_header_uses_the_backup_with_a_warning()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "gpt.img", DiskBytes, GptScript);
        var expected = SfdiskDisk.Partitions(path);
        SfdiskDisk.Patch(path, 512, new byte[512]);

        var table = Read(path, 512);

        AssertMatchesSfdisk(expected, table);
        Assert.Equal("GPT primary header or entries are damaged; the backup at sector 131071 was used: " +
            "GPT header: Signature = 0x0000000000000000 at byte 512: not \"EFI PART\"", Assert.Single(table.Warnings));
        Assert.Equal(new DiskRegion(DiskRegionKind.PartitionTable, 0, 34 * 512), table.Regions[0]);
        Assert.Equal(new DiskRegion(DiskRegionKind.GptBackup, 131039L * 512, 33 * 512), table.Regions[^1]);
    }

    [SkippableFact]
    public void Damaged_primary_entry_array_uses_the_backup()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "gpt.img", DiskBytes, GptScript);
        SfdiskDisk.Patch(path, 2 * 512 + 0x38, "x"u8);

        var table = Read(path, 512);

        Assert.Equal(3, table.Partitions.Count);
        Assert.StartsWith("GPT primary header or entries are damaged; the backup at sector 131071 was used: " +
            "GPT header: PartitionEntryArrayCRC32 = 0x", Assert.Single(table.Warnings));
    }

    [SkippableFact]
    public void Both_gpt_headers_damaged_is_an_error_naming_both()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "gpt.img", DiskBytes, GptScript);
        SfdiskDisk.Patch(path, 512 + 0x18, [7]);
        SfdiskDisk.Patch(path, DiskBytes - 512, new byte[512]);

        var error = Assert.Throws<DiskFormatException>(() => Read(path, 512));

        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(SfdiskDisk.ReadBytes(path, 512 + 0x10, 4));
        var header = SfdiskDisk.ReadBytes(path, 512, 92);
        header.AsSpan(0x10, 4).Clear();
        Assert.Equal($"GPT: primary and backup are both unusable: primary: GPT header: HeaderCRC32 = 0x{stored:x8} at " +
            $"byte 528: the header's CRC32 is 0x{Crc32.HashToUInt32(header):x8}; backup: GPT header: Signature = " +
            "0x0000000000000000 at byte 67108352: not \"EFI PART\"", error.Message);
    }

    [SkippableFact]
    public void Truncated_gpt_disk_is_an_error()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "gpt.img", DiskBytes, GptScript);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(1 << 20);
        }

        var error = Assert.Throws<DiskFormatException>(() => Read(path, 512));

        Assert.Equal("GPT: primary and backup are both unusable: primary: GPT header: AlternateLBA = 131071 at " +
            "byte 544: must be another sector of the disk's 2048; backup: GPT header: Signature = 0x0000000000000000 " +
            "at byte 1048064: not \"EFI PART\"", error.Message);
    }

    [SkippableFact]
    public void Mbr_partition_past_the_end_of_a_truncated_disk_is_an_error()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "mbr.img", DiskBytes, MbrScript);
        var extended = SfdiskDisk.Partitions(path).Single(p => SfdiskDisk.IsExtendedType(p.Type));
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(DiskBytes / 2);
        }

        var error = Assert.Throws<DiskFormatException>(() => Read(path, 512));

        Assert.Equal($"MBR partition record 3: SizeInLBA = {extended.Size} at byte 490: the partition ends at sector " +
            $"{extended.Start + extended.Size - 1}, past the end of the disk (sector 65535)", error.Message);
    }

    [SkippableFact]
    public void Gpt_entry_past_the_usable_sectors_is_an_error()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "gpt.img", DiskBytes, GptScript);
        // Entry 3's EndingLBA moved past the disk in both copies, with both CRCs made right again: only the range
        // check can catch it.
        RewriteEntry(path, headerLba: 1, entryIndex: 2, endingLba: 200000);
        RewriteEntry(path, headerLba: 131071, entryIndex: 2, endingLba: 200000);

        var error = Assert.Throws<DiskFormatException>(() => Read(path, 512));

        Assert.Equal("GPT: primary and backup are both unusable: primary: GPT partition entry 3: EndingLBA = 200000 " +
            "at byte 1320: must be StartingLBA (34816)..LastUsableLBA (131038); backup: GPT partition entry 3: " +
            $"EndingLBA = 200000 at byte {131039L * 512 + 2 * 128 + 0x28}: must be StartingLBA (34816)..LastUsableLBA (131038)",
            error.Message);
    }

    [SkippableFact]
    public void Ebr_loop_is_an_error()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "mbr.img", DiskBytes, MbrScript);
        long firstEbr = SfdiskDisk.Partitions(path).Single(p => SfdiskDisk.IsExtendedType(p.Type)).Start;
        const int linkField = 0x1BE + 0x10 + 0x08;
        uint secondRelative = BinaryPrimitives.ReadUInt32LittleEndian(SfdiskDisk.ReadBytes(path, firstEbr * 512 + linkField, 4));
        long secondEbr = firstEbr + secondRelative;
        // The second EBR links back to the first (relative sector 0).
        SfdiskDisk.Patch(path, secondEbr * 512 + linkField, new byte[4]);

        var error = Assert.Throws<DiskFormatException>(() => Read(path, 512));

        Assert.Equal($"EBR at sector {secondEbr}: next EBR StartingLBA = 0 at byte {secondEbr * 512 + linkField}: links " +
            $"back to the EBR at sector {firstEbr}: the EBR chain is a loop", error.Message);
    }

    [SkippableFact]
    public void Overlapping_mbr_partitions_are_an_error()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "mbr.img", DiskBytes, "label: dos\n,8M,83\n,8M,83\n");
        // Partition 2 moved to start inside partition 1.
        SfdiskDisk.Patch(path, 0x1CE + 0x08, BitConverter.GetBytes(4096u));

        var error = Assert.Throws<DiskFormatException>(() => Read(path, 512));

        Assert.Equal("MBR: partition 2 start = 2097152 at byte 2097152: overlaps partition 1 (bytes 1048576..9437183)",
            error.Message);
    }

    [SkippableTheory]
    [InlineData("mkfs.ext4", "e2fsprogs", new[] { "-q", "-F" })]
    [InlineData("mkfs.fat", "dosfstools", new[] { "-F", "32", "-I" })]
    [InlineData("mkfs.fat", "dosfstools", new[] { "-F", "16", "-I" })]
    [InlineData("mkfs.exfat", "exfatprogs", new string[0])]
    [InlineData("mkntfs", "ntfs-3g", new[] { "-F", "-Q", "-q" })]
    public void Filesystem_on_the_whole_disk_is_no_table(string tool, string package, string[] options)
    {
        ExternalTool.Require(tool, package);
        string path = _scratch.SparseFile("whole.img", DiskBytes);
        ExternalTool.Run(tool, [.. options, path]);

        var table = Read(path, 512);

        Assert.Equal(PartitionTableKind.None, table.Kind);
        Assert.Empty(table.Partitions);
    }

    [Fact]
    public void Blank_disk_is_no_table()
    {
        string path = _scratch.SparseFile("blank.img", 1 << 20);

        Assert.Equal(PartitionTableKind.None, Read(path, 512).Kind);
    }

    private static PartitionTable Read(string path, int sectorSize)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        return PartitionTableReader.Read(new StreamBlockSource(stream), sectorSize);
    }

    /// <summary>Every partition sfdisk lists (the extended container apart) has the same number, start and size.</summary>
    private static void AssertMatchesSfdisk(IReadOnlyList<SfdiskDisk.SfdiskPartition> expected, PartitionTable table)
    {
        var data = expected.Where(p => !SfdiskDisk.IsExtendedType(p.Type)).ToList();
        Assert.Equal(data.Select(p => (p.Number, p.Start * table.SectorSize, p.Size * table.SectorSize)),
            table.Partitions.Select(p => (p.Number, p.StartBytes, p.SizeBytes)));
        Assert.Equal(data.Select(p => p.Type.ToLowerInvariant()),
            table.Partitions.Select(p => table.Kind == PartitionTableKind.Mbr ? p.Type[2..].TrimStart('0') : p.Type));
        var extended = expected.SingleOrDefault(p => SfdiskDisk.IsExtendedType(p.Type));
        (long, long)? expectedExtended = extended is null ? null : (extended.Start * table.SectorSize, extended.Size * table.SectorSize);
        (long, long)? actualExtended = table.ExtendedPartition is { } e ? (e.StartBytes, e.SizeBytes) : null;
        Assert.Equal(expectedExtended, actualExtended);
    }

    /// <summary>Partitions and regions together tile the disk: ascending, no overlap, no hole.</summary>
    private static void AssertRegionsCoverTheRest(PartitionTable table)
    {
        var pieces = table.Partitions.Select(p => (p.StartBytes, p.SizeBytes))
            .Concat(table.Regions.Select(r => (r.StartBytes, r.SizeBytes)))
            .OrderBy(p => p.StartBytes);
        long cursor = 0;
        foreach (var (start, size) in pieces)
        {
            Assert.Equal(cursor, start);
            Assert.True(size > 0);
            cursor = start + size;
        }
        Assert.Equal(table.DiskBytes, cursor);
        Assert.Equal(table.Regions.OrderBy(r => r.StartBytes), table.Regions);
    }

    /// <summary>Sets EndingLBA of one entry of the GPT copy whose header is at <paramref name="headerLba"/>, and makes
    /// both CRCs of that copy right again.</summary>
    private static void RewriteEntry(string path, long headerLba, int entryIndex, ulong endingLba)
    {
        var sector = SfdiskDisk.ReadBytes(path, headerLba * 512, 512);
        var header = GptHeader.Parse(sector);
        long arrayOffset = (long)header.PartitionEntryLba * 512;
        var array = SfdiskDisk.ReadBytes(path, arrayOffset, header.EntryArrayBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(array.AsSpan(entryIndex * 128 + GptPartitionEntry.EndingLbaOffset), endingLba);
        (header with { PartitionEntryArrayCrc32 = Crc32.HashToUInt32(array) }).WriteTo(sector);
        SfdiskDisk.Patch(path, arrayOffset, array);
        SfdiskDisk.Patch(path, headerLba * 512, sector);
    }
}
