using System.Buffers.Binary;
using System.Text.RegularExpressions;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Btrfs;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Btrfs;

/// <summary>Pristine btrfs images (DUP metadata, the default; and single metadata), made once for
/// <see cref="BtrfsCorruptionTests"/> and <see cref="BtrfsMutationTests"/>; each test damages its own copy.</summary>
public sealed class BtrfsPristineImages : IDisposable
{
    public const int SizeMiB = 256;

    private readonly ScratchDirectory _scratch = new();
    private BtrfsTestVolume? _dup;
    private BtrfsTestVolume? _single;

    /// <summary>The default mkfs.btrfs layout: DUP metadata and system chunks, single data.</summary>
    public BtrfsTestVolume Dup => _dup ??= BtrfsTestVolume.Create(_scratch, "pristine", "", SizeMiB,
        copyBytes: 6 << 20, randomBytes: 6 << 20);

    /// <summary>Every chunk single: a damaged tree block has no second copy.</summary>
    public BtrfsTestVolume Single => _single ??= BtrfsTestVolume.Create(_scratch, "single", "-m single -d single", SizeMiB,
        copyBytes: 2 << 20, randomBytes: 2 << 20);

    public void Dispose() => _scratch.Dispose();
}

/// <summary>Damaged or unsupported btrfs superblocks and trees: each gives its documented message and a whole copy,
/// or, where a second DUP copy is sound, the same map as before.</summary>
public sealed partial class BtrfsCorruptionTests(BtrfsPristineImages pristine) : IClassFixture<BtrfsPristineImages>, IDisposable
{
    private const string Untrusted = "whole copy: btrfs metadata could not be trusted";

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void BadMagicIsNotDetected()
    {
        string image = Copy();
        PatchSuperblock(image, BtrfsSuperblock.MagicOffset, "_BHRfS_X"u8.ToArray());

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal(FileSystemKind.Unknown, analysis.Kind);
        Assert.Equal("whole copy: unknown filesystem", analysis.Method);
    }

    [SkippableTheory]
    [InlineData(1UL << 7, "0x80 (raid56)")]
    [InlineData(1UL << 13, "0x2000 (extent_tree_v2)")]
    [InlineData((1UL << 12) | (1UL << 40), "0x10000001000 (zoned, bit 40)")]
    public void UnknownIncompatFeatureMeansWholeCopyNamingIt(ulong bits, string named)
    {
        string image = Copy();
        OrSuperblockUInt64(image, BtrfsSuperblock.IncompatFlagsOffset, bits);

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal($"whole copy: btrfs has incompat features this tool does not map: {named}", analysis.Method);
        Assert.Equal(FileSystemKind.Btrfs, analysis.Kind);
        Assert.Equal("li-pristine", analysis.Label);
        Assert.Equal(ExternalTool.Run("blkid", "-o", "value", "-s", "UUID", image).Trim(), analysis.Uuid);
        Assert.Equal((long)BtrfsPristineImages.SizeMiB << 20, analysis.Map.UsedBytes);
    }

    [SkippableFact]
    public void UnknownCompatRoFeatureMeansWholeCopyNamingIt()
    {
        string image = Copy();
        OrSuperblockUInt64(image, BtrfsSuperblock.CompatRoFlagsOffset, 1UL << 20);

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal("whole copy: btrfs has compat_ro features this tool does not map: 0x100000 (bit 20)", analysis.Method);
    }

    /// <summary>Debian 12's btrfs-progs cannot make a block group tree, so the flag is set on a real filesystem that
    /// has none: the module looks for the tree the flag promises, finds no root item, and copies whole.</summary>
    [SkippableFact]
    public void BlockGroupTreeFlagWithoutTheTreeFallsBackToAWholeCopy()
    {
        string image = Copy();
        OrSuperblockUInt64(image, BtrfsSuperblock.CompatRoFlagsOffset, BtrfsFeatures.CompatRoBlockGroupTree);

        var analysis = ImageAnalysis.Analyze(image);

        AssertUntrusted(analysis, "btrfs root tree: root item = 11 at byte -1: the block group tree (11) has no root item");
    }

    [SkippableFact]
    public void SeveralDevicesMeanWholeCopy()
    {
        string image = Copy();
        PatchSuperblock(image, BtrfsSuperblock.NumDevicesOffset, UInt64(2));

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal("whole copy: btrfs spans 2 devices (num_devices); only single-device filesystems are mapped", analysis.Method);
    }

    [SkippableFact]
    public void APendingTreeLogMeansWholeCopy()
    {
        string image = Copy();
        PatchSuperblock(image, BtrfsSuperblock.LogRootOffset, UInt64(30408704));

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal("whole copy: btrfs has a tree log to replay at logical 30408704 (log_root): "
            + "the last fsynced changes are not yet in the extent tree", analysis.Method);
    }

    [SkippableFact]
    public void RecordedErrorsMeanWholeCopy()
    {
        string image = Copy();
        OrSuperblockUInt64(image, BtrfsSuperblock.FlagsOffset, BtrfsFeatures.SuperFlagError);

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal("whole copy: btrfs superblock flags 0x4 (error): errors recorded, an image of metadata only, "
            + "or a conversion under way", analysis.Method);
    }

    [SkippableTheory]
    [InlineData("xxhash", "xxhash64")]
    [InlineData("blake2", "blake2b")]
    public void UncheckedChecksumTypesMeanWholeCopy(string mkfsName, string named)
    {
        BtrfsLoopMount.RequireTools();
        string image = _scratch.SparseFile(mkfsName + ".img", 200 << 20);
        ExternalTool.Run("mkfs.btrfs", "-q", "-f", "--csum", mkfsName, image);

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal($"whole copy: btrfs metadata checksums are {named}, which this tool does not verify (crc32c and sha256 only)",
            analysis.Method);
    }

    [SkippableFact]
    public void BadSuperblockChecksumMeansWholeCopy()
    {
        string image = Copy();
        string stored = Convert.ToHexString(ImageBytes.Read(image, BtrfsSuperblock.Offset, 4));
        PatchSuperblock(image, BtrfsSuperblock.LabelOffset, "XX"u8.ToArray(), fixChecksum: false);

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal(Untrusted, analysis.Method);
        Assert.Matches($"^btrfs superblock: csum = {stored} at byte 65536: does not match the computed crc32c [0-9A-F]{{8}}$",
            Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void TamperedBytesUsedMeansWholeCopy()
    {
        string image = Copy();
        ulong used = BinaryPrimitives.ReadUInt64LittleEndian(ImageBytes.Read(image, BtrfsSuperblock.Offset + BtrfsSuperblock.BytesUsedOffset, 8));
        PatchSuperblock(image, BtrfsSuperblock.BytesUsedOffset, UInt64(used + 4096));

        var analysis = ImageAnalysis.Analyze(image);

        AssertUntrusted(analysis, $"btrfs superblock: bytes_used = {used + 4096} at byte {BtrfsSuperblock.Offset + 0x78}: "
            + $"the block groups' used bytes add up to {used}");
    }

    [SkippableFact]
    public void TamperedBlockGroupUsedBytesMeanWholeCopy()
    {
        string image = Copy();
        var (leaf, itemOffset, logical, used) = FirstBlockGroupItem(image);
        var copies = TreeBlockCopies(image, leaf);
        int usedInBlock = BtrfsHeader.Size + itemOffset + BtrfsBlockGroupItem.UsedOffset;
        PatchTreeBlock(image, leaf, usedInBlock, UInt64(used + 4096));

        var analysis = ImageAnalysis.Analyze(image);

        AssertUntrusted(analysis, $"btrfs block group item: used = {used + 4096} at byte {copies[0] + usedInBlock}: "
            + $"block group at logical {logical}: its extents in the extent tree add up to {used} bytes");
    }

    /// <summary>A METADATA_ITEM's bytenr moved into the free space after it, in the same chunk: every count still adds
    /// up, but the tree block at the old address would be left out (found by the mutation test: one random byte in the
    /// second byte of such a key).</summary>
    [SkippableFact]
    public void AMovedMetadataItemKeyMeansWholeCopy()
    {
        string image = Copy();
        var moved = MovableExtentItem(image, "METADATA_ITEM");
        long physical = TreeBlockCopies(image, moved.Logical)[0];
        PatchTreeBlock(image, moved.Leaf, BtrfsHeader.Size + (moved.Index * BtrfsHeader.ItemSize), UInt64(moved.Target));
        ulong owner = BinaryPrimitives.ReadUInt64LittleEndian(ImageBytes.Read(image, physical + BtrfsHeader.OwnerOffset, 8));

        var analysis = ImageAnalysis.Analyze(image);

        AssertUntrusted(analysis, $"btrfs extent tree: extent = {moved.Logical}+16384 at byte -1: tree {owner}: tree block "
            + $"uses these bytes, but no extent item lists them (physical {physical} would be left out)");
    }

    /// <summary>A data EXTENT_ITEM moved the same way: the file extent item that names the old address finds it free.</summary>
    [SkippableFact]
    public void AMovedDataExtentItemKeyMeansWholeCopy()
    {
        string image = Copy();
        var moved = MovableExtentItem(image, "EXTENT_ITEM");
        long physical = TreeBlockCopies(image, moved.Logical)[0];
        PatchTreeBlock(image, moved.Leaf, BtrfsHeader.Size + (moved.Index * BtrfsHeader.ItemSize), UInt64(moved.Target));

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal(Untrusted, analysis.Method);
        Assert.Matches($@"^btrfs extent tree: extent = {moved.Logical}\+{moved.Length} at byte \d+: tree (5|\d{{3,}}): "
            + $@"file extent \(\d+ 108 \d+\) uses these bytes, but no extent item lists them \(physical {physical} would be left out\)$",
            Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void ADamagedFirstDupCopyIsReadFromTheSecond()
    {
        string image = Copy();
        var clean = ImageAnalysis.Analyze(image);
        ulong extentRoot = ExtentTreeRoot(image);
        var copies = TreeBlockCopies(image, extentRoot);
        Assert.Equal(2, copies.Count);
        ImageBytes.Patch(image, copies[0] + 0x200, [0xDE, 0xAD]);

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal("btrfs extent tree", analysis.Method);
        Assert.Equal(clean.Map.ToBitmap(), analysis.Map.ToBitmap());
    }

    [SkippableFact]
    public void ADamagedSingleCopyTreeBlockMeansWholeCopy()
    {
        BtrfsLoopMount.RequireTools();
        string image = _scratch.File("damaged-single.img");
        File.Copy(pristine.Single.Path, image, overwrite: true);
        ulong extentRoot = ExtentTreeRoot(image);
        long physical = Assert.Single(TreeBlockCopies(image, extentRoot));
        string stored = Convert.ToHexString(ImageBytes.Read(image, physical, 4));
        ImageBytes.Patch(image, physical + 0x200, [0xDE, 0xAD]);

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal(Untrusted, analysis.Method);
        Assert.Matches($"^btrfs tree block: csum = {stored} at byte {physical}: tree 2 block at logical {extentRoot}: "
            + "does not match the computed crc32c [0-9A-F]{8}$", Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void TruncatedPartitionMeansWholeCopy()
    {
        string image = Copy();
        long half = (long)BtrfsPristineImages.SizeMiB << 19;

        var analysis = ImageAnalysis.Analyze(image, 0, half);

        AssertUntrusted(analysis, $"btrfs superblock: dev_item.total_bytes = {(long)BtrfsPristineImages.SizeMiB << 20} at byte 65745: "
            + $"must be 69632..{half}: the partition holds {half} bytes");
    }

    [SkippableFact]
    public void ARaid1ChunkMeansWholeCopyNamingIt()
    {
        string image = Copy();
        // The system chunk in sys_chunk_array: its type field, rewritten from SYSTEM|DUP to SYSTEM|RAID1.
        long typeOffset = BtrfsSuperblock.Offset + BtrfsSuperblock.SysChunkArrayOffset + BtrfsKey.Size + BtrfsChunkItem.TypeOffset;
        ulong logical = BinaryPrimitives.ReadUInt64LittleEndian(ImageBytes.Read(image, BtrfsSuperblock.Offset + BtrfsSuperblock.SysChunkArrayOffset + 9, 8));
        PatchSuperblock(image, (int)(typeOffset - BtrfsSuperblock.Offset), UInt64(BtrfsChunkItem.TypeSystem | BtrfsChunkItem.ProfileRaid1));

        var analysis = ImageAnalysis.Analyze(image);

        Assert.Equal($"whole copy: btrfs system chunk at logical {logical} has profile raid1; only single and dup chunks are mapped",
            analysis.Method);
    }

    private static void AssertUntrusted(FileSystemAnalysis analysis, string warning)
    {
        Assert.Equal(Untrusted, analysis.Method);
        Assert.Equal([warning], analysis.Warnings);
        Assert.Equal(FileSystemKind.Btrfs, analysis.Kind);
    }

    private string Copy()
    {
        BtrfsLoopMount.RequireTools();
        string copy = _scratch.File("damaged.img");
        File.Copy(pristine.Dup.Path, copy, overwrite: true);
        return copy;
    }

    /// <summary>Overwrites bytes of the primary superblock and, unless told not to, rewrites its crc32c.</summary>
    public static void PatchSuperblock(string image, int fieldOffset, byte[] value, bool fixChecksum = true)
    {
        var superblock = ImageBytes.Read(image, BtrfsSuperblock.Offset, BtrfsSuperblock.Size);
        value.CopyTo(superblock.AsSpan(fieldOffset));
        if (fixChecksum)
        {
            BtrfsChecksum.Write(BtrfsChecksum.TypeCrc32C, superblock);
        }
        ImageBytes.Patch(image, BtrfsSuperblock.Offset, superblock);
    }

    private static void OrSuperblockUInt64(string image, int fieldOffset, ulong bits)
    {
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(ImageBytes.Read(image, BtrfsSuperblock.Offset + fieldOffset, 8));
        PatchSuperblock(image, fieldOffset, UInt64(value | bits));
    }

    /// <summary>Overwrites bytes of the tree block at <paramref name="logical"/> in every copy and rewrites its crc32c.</summary>
    public static void PatchTreeBlock(string image, ulong logical, int offset, byte[] value, int nodeSize = 16384)
    {
        foreach (long physical in TreeBlockCopies(image, logical))
        {
            var block = ImageBytes.Read(image, physical, nodeSize);
            value.CopyTo(block.AsSpan(offset));
            BtrfsChecksum.Write(BtrfsChecksum.TypeCrc32C, block);
            ImageBytes.Patch(image, physical, block);
        }
    }

    /// <summary>The physical offsets of every copy of the tree block at <paramref name="logical"/>, as btrfs-map-logical
    /// prints them.</summary>
    public static List<long> TreeBlockCopies(string image, ulong logical) =>
        MirrorRegex().Matches(ExternalTool.Run("btrfs-map-logical", "-l", logical.ToString(), image))
            .Select(match => long.Parse(match.Groups[1].Value)).Distinct().ToList();

    private static ulong ExtentTreeRoot(string image)
    {
        var match = ExtentRootRegex().Match(ExternalTool.Run("btrfs", "inspect-internal", "dump-tree", "-t", "root", image));
        Assert.True(match.Success, "dump-tree -t root shows the extent tree's root item");
        return ulong.Parse(match.Groups[1].Value);
    }

    /// <summary>The first block group item of the extent tree: its leaf, its data offset in the leaf, its logical
    /// start and its used bytes, from dump-tree.</summary>
    private static (ulong Leaf, int ItemOffset, ulong Logical, ulong Used) FirstBlockGroupItem(string image)
    {
        string dump = ExternalTool.Run("btrfs", "inspect-internal", "dump-tree", "-t", "extent", image);
        ulong leaf = 0;
        foreach (string line in dump.Split('\n'))
        {
            if (LeafRegex().Match(line) is { Success: true } header)
            {
                leaf = ulong.Parse(header.Groups[1].Value);
            }
            else if (BlockGroupItemRegex().Match(line) is { Success: true } item)
            {
                var used = UsedRegex().Match(dump, dump.IndexOf(line, StringComparison.Ordinal));
                return (leaf, int.Parse(item.Groups[2].Value), ulong.Parse(item.Groups[1].Value), ulong.Parse(used.Groups[1].Value));
            }
        }
        throw new InvalidOperationException("dump-tree -t extent shows no block group item");
    }

    /// <summary>An extent tree item of <paramref name="type"/> (not first in its leaf) followed in the same leaf and
    /// chunk by another extent with free space between them: where its key can move to (just before the next extent)
    /// without breaking the key order or any count.</summary>
    private static (ulong Leaf, int Index, ulong Logical, ulong Length, ulong Target) MovableExtentItem(string image, string type)
    {
        var chunks = ChunkRegex().Matches(ExternalTool.Run("btrfs", "inspect-internal", "dump-tree", "-t", "chunk", image))
            .Select(match => (Start: ulong.Parse(match.Groups[1].Value), End: ulong.Parse(match.Groups[1].Value) + ulong.Parse(match.Groups[2].Value)))
            .ToList();
        string dump = ExternalTool.Run("btrfs", "inspect-internal", "dump-tree", "-t", "extent", image);
        ulong leaf = 0;
        (int Index, ulong Logical, ulong Length)? candidate = null;
        foreach (string line in dump.Split('\n'))
        {
            if (LeafRegex().Match(line) is { Success: true } header)
            {
                leaf = ulong.Parse(header.Groups[1].Value);
                candidate = null;
                continue;
            }
            if (ItemKeyRegex().Match(line) is not { Success: true } item || item.Groups[3].Value is not ("EXTENT_ITEM" or "METADATA_ITEM"))
            {
                continue;
            }
            int index = int.Parse(item.Groups[1].Value);
            ulong logical = ulong.Parse(item.Groups[2].Value);
            ulong length = item.Groups[3].Value == "METADATA_ITEM" ? 16384 : ulong.Parse(item.Groups[4].Value);
            if (candidate is { } before && logical >= before.Logical + (2 * before.Length)
                && chunks.Any(chunk => chunk.Start <= before.Logical && logical < chunk.End))
            {
                return (leaf, before.Index, before.Logical, before.Length, logical - before.Length);
            }
            candidate = index > 0 && item.Groups[3].Value == type ? (index, logical, length) : null;
        }
        throw new InvalidOperationException($"dump-tree -t extent shows no {type} with free space after it");
    }

    public static byte[] UInt64(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    [GeneratedRegex(@"mirror \d+ logical \d+ physical (\d+)")]
    private static partial Regex MirrorRegex();

    [GeneratedRegex(@"key \(EXTENT_TREE ROOT_ITEM 0\)[^\n]*\n[^\n]*bytenr (\d+)")]
    private static partial Regex ExtentRootRegex();

    [GeneratedRegex(@"^leaf (\d+) items")]
    private static partial Regex LeafRegex();

    [GeneratedRegex(@"key \((\d+) BLOCK_GROUP_ITEM \d+\) itemoff (\d+) itemsize 24")]
    private static partial Regex BlockGroupItemRegex();

    [GeneratedRegex(@"^\titem (\d+) key \((\d+) (\S+) (\d+)\)")]
    private static partial Regex ItemKeyRegex();

    [GeneratedRegex(@"key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)[^\n]*\n\s*length (\d+)")]
    private static partial Regex ChunkRegex();

    [GeneratedRegex(@"block group used (\d+)")]
    private static partial Regex UsedRegex();
}
