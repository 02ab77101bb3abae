using System.Text.RegularExpressions;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Ext;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Ext;

/// <summary>One pristine ext4 image (1 KiB blocks, 10 groups of 2048 blocks, flex_bg, metadata_csum), made once for
/// <see cref="ExtCorruptionTests"/>; each test damages its own copy.</summary>
public sealed class ExtPristineImage : IDisposable
{
    public const int SizeMiB = 20;
    public const long BlockCount = SizeMiB * 1024;

    /// <summary>Byte offset of the primary descriptor table: block 2 with 1 KiB blocks.</summary>
    public const long DescriptorTableOffset = 2048;

    /// <summary>s_desc_size of a 64bit filesystem made by mke2fs.</summary>
    public const int DescriptorSize = 64;

    private readonly ScratchDirectory _scratch = new();
    private ExtTestImage? _image;

    /// <summary>The image, made on first use so that a missing e2fsprogs skips instead of failing the fixture.</summary>
    public ExtTestImage Image => _image ??= ExtTestImage.Create(_scratch, "pristine", "-t ext4 -b 1024 -g 2048", SizeMiB,
        dataBytes: 3 << 20);

    public void Dispose() => _scratch.Dispose();
}

/// <summary>Damaged ext superblocks and descriptors: each gives its documented message and a whole copy, or for a
/// BLOCK_UNINIT group with a bad checksum, that group copied whole with a warning.</summary>
public sealed partial class ExtCorruptionTests(ExtPristineImage pristine) : IClassFixture<ExtPristineImage>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void BadMagicIsNotDetected()
    {
        string image = Copy();
        ExtTestImage.PatchSuperblock(image, ExtSuperblock.MagicOffset, [0x53, 0xEE]);

        var analysis = ExtTestImage.Analyze(image);

        Assert.Equal(FileSystemKind.Unknown, analysis.Kind);
        Assert.Equal("whole copy: unknown filesystem", analysis.Method);
    }

    [SkippableTheory]
    [InlineData(0x80000000u, "0x80000000 (bit 31)")]
    [InlineData(0x00000001u, "0x1 (compression)")]
    [InlineData(0x00001008u, "0x1008 (journal_dev, dirdata)")]
    public void UnknownIncompatFeatureMeansWholeCopyNamingIt(uint bits, string named)
    {
        string image = Copy();
        uint incompat = ReadSuperblockUInt32(image, ExtSuperblock.FeatureIncompatOffset);
        ExtTestImage.PatchSuperblock(image, ExtSuperblock.FeatureIncompatOffset, ExtTestImage.UInt32(incompat | bits));

        var analysis = ExtTestImage.Analyze(image);

        Assert.Equal($"whole copy: ext4 has INCOMPAT features this tool does not understand: {named}", analysis.Method);
        Assert.Equal(FileSystemKind.Ext4, analysis.Kind);
        Assert.Equal("li-pristine", analysis.Label);
        Assert.Equal(ExtTestImage.SuperblockField(pristine.Image.Path, "Filesystem UUID"), analysis.Uuid);
        Assert.Equal(ExtPristineImage.BlockCount * 1024, analysis.Map.UsedBytes);
    }

    [SkippableFact]
    public void UnknownRoCompatFeatureIsMappedWithWarning()
    {
        string image = Copy();
        var clean = ExtTestImage.Analyze(image);
        uint roCompat = ReadSuperblockUInt32(image, ExtSuperblock.FeatureRoCompatOffset);
        ExtTestImage.PatchSuperblock(image, ExtSuperblock.FeatureRoCompatOffset, ExtTestImage.UInt32(roCompat | 0x80000000));

        var analysis = ExtTestImage.Analyze(image);

        Assert.Equal("ext4 block bitmaps", analysis.Method);
        Assert.Equal(["ext4 has RO_COMPAT features this tool does not know: 0x80000000 (bit 31); the bitmaps were read as usual"],
            analysis.Warnings);
        Assert.Equal(clean.Map.ToBitmap(), analysis.Map.ToBitmap());
    }

    [SkippableFact]
    public void AbsurdGroupCountIsRefusedBeforeAnyGroupIsRead()
    {
        string image = Copy();
        // A sparse 160 GiB "partition" whose superblock claims 1 KiB blocks in groups of 8: 20 million groups.
        const long partitionBytes = 160L << 30;
        string huge = _scratch.SparseFile("huge.img", partitionBytes);
        using (var input = File.OpenRead(image))
        using (var output = new FileStream(huge, FileMode.Open, FileAccess.Write))
        {
            var head = new byte[1 << 20];
            input.ReadExactly(head);
            output.Write(head);
        }
        ExtTestImage.PatchSuperblock(huge, ExtSuperblock.BlocksCountLoOffset, ExtTestImage.UInt32((uint)(partitionBytes / 1024)));
        ExtTestImage.PatchSuperblock(huge, ExtSuperblock.BlocksPerGroupOffset, ExtTestImage.UInt32(8));
        ExtTestImage.PatchSuperblock(huge, ExtSuperblock.ClustersPerGroupOffset, ExtTestImage.UInt32(8));

        var analysis = ExtTestImage.Analyze(huge);

        AssertUntrusted(analysis, "ext4 superblock: s_blocks_per_group = 8 at byte 1056: makes 20971520 groups, more than 16777216");
    }

    [SkippableFact]
    public void NeedsRecoveryMeansWholeCopy()
    {
        string image = Copy();
        uint incompat = ReadSuperblockUInt32(image, ExtSuperblock.FeatureIncompatOffset);
        ExtTestImage.PatchSuperblock(image, ExtSuperblock.FeatureIncompatOffset,
            ExtTestImage.UInt32(incompat | ExtFeatures.IncompatRecover));

        var analysis = ExtTestImage.Analyze(image);

        Assert.Equal("whole copy: ext4 journal needs recovery (INCOMPAT needs_recovery): the bitmaps on disk may be out of date",
            analysis.Method);
    }

    [SkippableFact]
    public void UncleanStateMeansWholeCopy()
    {
        string image = Copy();
        ExtTestImage.PatchSuperblock(image, ExtSuperblock.StateOffset, [0x00, 0x00]);

        var analysis = ExtTestImage.Analyze(image);

        Assert.Equal("whole copy: ext4 was not cleanly unmounted or has errors recorded (s_state = 0x0000)", analysis.Method);
    }

    [SkippableFact]
    public void TamperedSuperblockFreeCountMeansWholeCopyWithWarning()
    {
        string image = Copy();
        long free = long.Parse(ExtTestImage.SuperblockField(image, "Free blocks"));
        ExtTestImage.Debugfs(image, write: true, [$"ssv free_blocks_count {free + 5}"]);

        var analysis = ExtTestImage.Analyze(image);

        AssertUntrusted(analysis,
            $"ext4 superblock: s_free_blocks_count = {free + 5} at byte 1036: the block bitmaps show {free} free blocks");
    }

    [SkippableFact]
    public void TamperedGroupFreeCountMeansWholeCopyWithWarning()
    {
        string image = Copy();
        var group = Groups(image).First(g => g.Number == 2);
        ExtTestImage.Debugfs(image, write: true, [$"set_bg 2 free_blocks_count {group.FreeBlocks + 1}", "set_bg 2 checksum calc"]);

        var analysis = ExtTestImage.Analyze(image);

        long offset = ExtPristineImage.DescriptorTableOffset + 2 * ExtPristineImage.DescriptorSize + 0x0C;
        AssertUntrusted(analysis, $"ext4 group descriptor: bg_free_blocks_count = {group.FreeBlocks + 1} at byte {offset}: "
            + $"group 2: the bitmap shows {group.FreeBlocks} free blocks");
    }

    [SkippableFact]
    public void BlockBitmapOutsideTheFilesystemMeansWholeCopyWithWarning()
    {
        string image = Copy();
        ExtTestImage.Debugfs(image, write: true, ["set_bg 1 block_bitmap 99999999", "set_bg 1 checksum calc"]);

        var analysis = ExtTestImage.Analyze(image);

        long offset = ExtPristineImage.DescriptorTableOffset + ExtPristineImage.DescriptorSize;
        AssertUntrusted(analysis, $"ext4 group descriptor: bg_block_bitmap = 99999999 at byte {offset}: "
            + $"group 1: 1 block(s) there lie outside the filesystem's blocks 1..{ExtPristineImage.BlockCount - 1}");
    }

    [SkippableFact]
    public void InodeTableRunningPastTheEndMeansWholeCopyWithWarning()
    {
        string image = Copy();
        long last = ExtPristineImage.BlockCount - 3;
        ExtTestImage.Debugfs(image, write: true, [$"set_bg 3 inode_table {last}", "set_bg 3 checksum calc"]);

        var analysis = ExtTestImage.Analyze(image);

        long offset = ExtPristineImage.DescriptorTableOffset + 3 * ExtPristineImage.DescriptorSize + 0x08;
        long tableBlocks = 512 * 256 / 1024;
        AssertUntrusted(analysis, $"ext4 group descriptor: bg_inode_table = {last} at byte {offset}: "
            + $"group 3: {tableBlocks} block(s) there lie outside the filesystem's blocks 1..{ExtPristineImage.BlockCount - 1}");
    }

    [SkippableFact]
    public void DescriptorChecksumMismatchOnAnInitialisedGroupMeansWholeCopy()
    {
        string image = Copy();
        var group = Groups(image).First(g => !g.Flags.Contains("BLOCK_UNINIT", StringComparison.Ordinal));
        long offset = ExtPristineImage.DescriptorTableOffset + group.Number * ExtPristineImage.DescriptorSize + 0x1E;
        ushort stored = FlipChecksum(image, offset);

        var analysis = ExtTestImage.Analyze(image);

        AssertUntrusted(analysis, $"ext4 group descriptor: bg_checksum = 0x{stored ^ 0xFFFF:X4} at byte {offset}: "
            + $"group {group.Number}: does not match the computed 0x{stored:X4}");
    }

    [SkippableFact]
    public void BlockBitmapChecksumMismatchMeansWholeCopy()
    {
        string image = Copy();
        var match = BitmapRegex().Match(ExternalTool.Run("dumpe2fs", image));
        Assert.True(match.Success, "dumpe2fs names group 0's block bitmap");
        long block = long.Parse(match.Groups[1].Value);
        uint stored = Convert.ToUInt32(match.Groups[2].Value, 16);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = block * 1024 + 100;
            int value = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(value ^ 0x10));
        }

        var analysis = ExtTestImage.Analyze(image);

        Assert.Equal("whole copy: ext4 metadata could not be trusted", analysis.Method);
        Assert.Single(analysis.Warnings);
        Assert.Matches($"^ext4 group descriptor: bg_block_bitmap_csum = 0x{stored:X} at byte 2072: group 0: "
            + $"does not match the computed 0x[0-9A-F]+ of the bitmap in block {block}$", analysis.Warnings[0]);
    }

    [SkippableFact]
    public void UninitGroupWithBadChecksumIsCopiedWholeWithWarning()
    {
        string image = Copy();
        var clean = ExtTestImage.Analyze(image);
        var group = Groups(image).First(g => g.Flags.Contains("BLOCK_UNINIT", StringComparison.Ordinal));
        long offset = ExtPristineImage.DescriptorTableOffset + group.Number * ExtPristineImage.DescriptorSize + 0x1E;
        FlipChecksum(image, offset);

        var analysis = ExtTestImage.Analyze(image);

        Assert.Equal("ext4 block bitmaps", analysis.Method);
        Assert.Equal([$"ext4: 1 BLOCK_UNINIT group(s) whose descriptor checksum does not verify are copied whole (group {group.Number})"],
            analysis.Warnings);
        // Its whole inode table is copied too: bg_itable_unused is not to be believed either.
        var table = ExtUnusedInodeTableTests.Groups(image).Single(g => g.Number == group.Number);
        Assert.True(table.UnusedBlocks > 0);
        Assert.Equal(clean.Map.UsedCount + group.FreeBlocks + table.UnusedBlocks, analysis.Map.UsedCount);
        Assert.All(Enumerable.Range(0, (int)(table.TableEnd - table.TableStart)), i => Assert.True(analysis.Map.IsUsed(table.TableStart + i)));
        Assert.Equal(clean.UnusedMetadataBytes - table.UnusedBlocks * 1024, analysis.UnusedMetadataBytes);
        long first = 1 + group.Number * 2048L;
        Assert.All(Enumerable.Range(0, 2048), i => Assert.True(analysis.Map.IsUsed(first + i)));
        string copy = _scratch.File("copy.img");
        UsedBlockCopy.Copy(image, copy, analysis, 0, new FileInfo(image).Length);
        // The copy carries the damaged checksum too; once it is repaired the copy must be whole.
        FlipChecksum(copy, offset);
        pristine.Image.AssertCopyIsComplete(copy, _scratch);
    }

    [SkippableFact]
    public void BadSuperblockChecksumMeansWholeCopy()
    {
        string image = Copy();
        uint stored = ReadSuperblockUInt32(image, ExtSuperblock.ChecksumOffset);
        ExtTestImage.PatchSuperblock(image, ExtSuperblock.VolumeNameOffset, "XX"u8, fixChecksum: false);

        var analysis = ExtTestImage.Analyze(image);

        Assert.Single(analysis.Warnings);
        Assert.Matches($"^ext4 superblock: s_checksum = 0x{stored:X8} at byte 2044: does not match the computed 0x[0-9A-F]{{8}}$",
            analysis.Warnings[0]);
        Assert.Equal("whole copy: ext4 metadata could not be trusted", analysis.Method);
    }

    [SkippableTheory]
    [InlineData(ExtSuperblock.LogBlockSizeOffset, 20u,
        "s_log_block_size = 20 at byte 1048: must be 0..6 (1 KiB to 64 KiB blocks)")]
    [InlineData(ExtSuperblock.BlocksPerGroupOffset, 0x7FFFFFFFu,
        "s_blocks_per_group = 2147483647 at byte 1056: must be at least 8 and equal s_clusters_per_group (2048) times the 1 block(s) per cluster")]
    [InlineData(ExtSuperblock.BlocksPerGroupOffset, 0u,
        "s_blocks_per_group = 0 at byte 1056: must be at least 8 and equal s_clusters_per_group (2048) times the 1 block(s) per cluster")]
    [InlineData(ExtSuperblock.ClustersPerGroupOffset, 0x7FFFFFFFu,
        "s_clusters_per_group = 2147483647 at byte 1060: must be 1..8192: one bitmap block's bits")]
    [InlineData(ExtSuperblock.InodesPerGroupOffset, 0u,
        "s_inodes_per_group = 0 at byte 1064: must be 1..8192: one bitmap block's bits")]
    [InlineData(ExtSuperblock.BlocksCountLoOffset, 0x7FFFFFFFu,
        "s_blocks_count = 2147483647 at byte 1028: must be 2..20480: the partition holds 20971520 bytes")]
    [InlineData(ExtSuperblock.InodesCountOffset, 12345u,
        "s_inodes_count = 12345 at byte 1024: is not 10 groups times 512 inodes per group")]
    [InlineData(ExtSuperblock.FirstDataBlockOffset, 0u,
        "s_first_data_block = 0 at byte 1044: must be 1 for 1024-byte blocks")]
    [InlineData(ExtSuperblock.DescSizeOffset, 48u,
        "s_desc_size = 48 at byte 1278: must be a power of two in 64..1024 with 64bit")]
    public void AbsurdGeometryMeansWholeCopyWithWarning(int fieldOffset, uint value, string message)
    {
        string image = Copy();
        byte[] bytes = ExtTestImage.UInt32(value);
        int width = fieldOffset == ExtSuperblock.DescSizeOffset ? 2 : 4;
        ExtTestImage.PatchSuperblock(image, fieldOffset, bytes.AsSpan(0, width));

        var analysis = ExtTestImage.Analyze(image);

        AssertUntrusted(analysis, "ext4 superblock: " + message);
    }

    [SkippableFact]
    public void TruncatedPartitionMeansWholeCopyWithWarning()
    {
        string image = Copy();

        var analysis = ExtTestImage.Analyze(image, 0, ExtPristineImage.SizeMiB << 19);

        AssertUntrusted(analysis, "ext4 superblock: s_blocks_count = 20480 at byte 1028: must be 2..10240: the partition holds 10485760 bytes");
    }

    private static void AssertUntrusted(FileSystemAnalysis analysis, string warning)
    {
        Assert.Equal("whole copy: ext4 metadata could not be trusted", analysis.Method);
        Assert.Equal([warning], analysis.Warnings);
        Assert.Equal(FileSystemKind.Ext4, analysis.Kind);
    }

    private string Copy()
    {
        ExtTestImage.RequireTools();
        ExternalTool.Require("dumpe2fs", "e2fsprogs");
        string copy = _scratch.File("damaged.img");
        File.Copy(pristine.Image.Path, copy, overwrite: true);
        return copy;
    }

    private static uint ReadSuperblockUInt32(string image, int fieldOffset)
    {
        using var stream = File.OpenRead(image);
        var bytes = new byte[4];
        stream.Position = ExtSuperblock.Offset + fieldOffset;
        stream.ReadExactly(bytes);
        return BitConverter.ToUInt32(bytes);
    }

    /// <summary>Inverts the 16-bit checksum at <paramref name="offset"/> and returns the value it had.</summary>
    private static ushort FlipChecksum(string image, long offset)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var bytes = new byte[2];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        ushort stored = BitConverter.ToUInt16(bytes);
        stream.Position = offset;
        stream.Write(BitConverter.GetBytes((ushort)~stored));
        return stored;
    }

    /// <summary>Each group's number, flags and free block count as dumpe2fs prints them.</summary>
    private static List<(int Number, string Flags, long FreeBlocks)> Groups(string image)
    {
        string output = ExternalTool.Run("dumpe2fs", image);
        var groups = new List<(int, string, long)>();
        foreach (Match match in GroupRegex().Matches(output))
        {
            groups.Add((int.Parse(match.Groups[1].Value), match.Groups[2].Value, long.Parse(match.Groups[3].Value)));
        }
        Assert.NotEmpty(groups);
        return groups;
    }

    [GeneratedRegex(@"^Group 0:.*\n(?:  .*\n)*?  Block bitmap at (\d+) .*csum 0x([0-9a-f]+)", RegexOptions.Multiline)]
    private static partial Regex BitmapRegex();

    [GeneratedRegex(@"^Group (\d+): \(Blocks [^)]*\)(?: csum 0x[0-9a-f]+)?(.*)$(?:\n  .*$)*?\n  (\d+) free blocks,", RegexOptions.Multiline)]
    private static partial Regex GroupRegex();
}
