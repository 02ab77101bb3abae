using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Partitions;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.Partitions;

public sealed class DiskLayoutTests : IDisposable
{
    private const long DiskBytes = 64L << 20;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void Gpt_disk_with_an_ext4_partition_and_an_empty_one()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string path = SfdiskDisk.Create(_scratch, "disk.img", DiskBytes, "label: gpt\nsize=16M, type=L\ntype=L\n");
        var expected = SfdiskDisk.Partitions(path);
        long extStart = expected[0].Start * 512;
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-L", "inspected", "-E", $"offset={extStart}", path,
            $"{expected[0].Size * 512 / 1024}k");

        var layout = Analyze(path, 512);

        Assert.Equal(PartitionTableKind.Gpt, layout.Table.Kind);
        Assert.Empty(layout.Table.Warnings);
        Assert.Equal(expected.Select(p => (p.Number, p.Start * 512, p.Size * 512)),
            layout.Partitions.Select(p => (p.Partition.Number, p.Partition.StartBytes, p.Partition.SizeBytes)));

        // Partition 1 holds ext4: named so once the ext module is registered, and never anything else.
        var ext = layout.Partitions[0].Analysis;
        Assert.Contains(ext.Kind, new[] { FileSystemKind.Ext4, FileSystemKind.Unknown });
        if (ext.Kind == FileSystemKind.Ext4)
        {
            Assert.Equal("inspected", ext.Label);
        }

        // Partition 2 was never formatted: unknown, copied whole.
        var empty = layout.Partitions[1];
        Assert.Equal(FileSystemKind.Unknown, empty.Analysis.Kind);
        Assert.Equal("unknown", empty.Analysis.Kind.ToName());
        Assert.True(empty.Analysis.IsWholeCopy);
        Assert.Equal("whole copy: unknown filesystem", empty.Analysis.Method);
        Assert.Equal(empty.Partition.SizeBytes, empty.UsedBytes);
    }

    [SkippableFact]
    public void Disk_without_a_table_is_analysed_as_one_filesystem()
    {
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string path = _scratch.SparseFile("whole.img", DiskBytes);
        ExternalTool.Run("mkfs.ext4", "-q", "-F", path);

        var layout = Analyze(path, 512);

        Assert.Equal(PartitionTableKind.None, layout.Table.Kind);
        var whole = Assert.Single(layout.Partitions);
        Assert.Equal((DiskLayout.WholeDiskNumber, 0L, DiskBytes),
            (whole.Partition.Number, whole.Partition.StartBytes, whole.Partition.SizeBytes));
        Assert.Contains(whole.Analysis.Kind, new[] { FileSystemKind.Ext4, FileSystemKind.Unknown });
    }

    [SkippableFact]
    public void Corrupt_table_is_an_error_not_a_guess()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string path = SfdiskDisk.Create(_scratch, "disk.img", DiskBytes, "label: gpt\ntype=L\n");
        SfdiskDisk.Patch(path, 512, new byte[512]);
        SfdiskDisk.Patch(path, DiskBytes - 512, new byte[512]);

        var error = Assert.Throws<DiskFormatException>(() => Analyze(path, 512));

        Assert.StartsWith("GPT: primary and backup are both unusable", error.Message);
    }

    private static DiskLayout Analyze(string path, int sectorSize)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        return DiskLayout.Analyze(new StreamBlockSource(stream), sectorSize);
    }
}
