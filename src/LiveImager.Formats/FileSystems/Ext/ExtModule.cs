using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>ext2, ext3 and ext4: used blocks from the block bitmap of every group (the cluster bitmap under bigalloc).</summary>
/// <remarks>As e2fsprogs reads bitmaps (lib/ext2fs/rw_bitmaps.c): a BLOCK_UNINIT group's bitmap was never written, so
/// it is computed (its own metadata used, the rest free), and only when the group descriptor's checksum verifies.
/// The result is cross-checked against every group's free count and the superblock's. With descriptor checksums, the
/// end of each inode table past bg_itable_unused is left out, as e2image does; see docs/used-blocks.md.</remarks>
public sealed class ExtModule : IFileSystemModule
{
    public FileSystemKind Probe(ReadOnlySpan<byte> head)
    {
        if (head.Length < ExtSuperblock.Offset + ExtSuperblock.Size)
        {
            return FileSystemKind.Unknown;
        }
        var superblock = head.Slice(ExtSuperblock.Offset, ExtSuperblock.Size);
        if (BinaryPrimitives.ReadUInt16LittleEndian(superblock[ExtSuperblock.MagicOffset..]) != ExtSuperblock.Magic)
        {
            return FileSystemKind.Unknown;
        }
        return ExtFeatures.Classify(
            BinaryPrimitives.ReadUInt32LittleEndian(superblock[ExtSuperblock.FeatureCompatOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(superblock[ExtSuperblock.FeatureIncompatOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(superblock[ExtSuperblock.FeatureRoCompatOffset..]));
    }

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var raw = new byte[ExtSuperblock.Size];
        partition.ReadAt(ExtSuperblock.Offset, raw);
        var superblock = ExtSuperblock.Parse(raw);
        FileSystemKind kind = superblock.Kind;
        string name = kind.ToName();
        string? label = superblock.VolumeName;
        string uuid = superblock.UuidText;

        // Checked before anything else is trusted: an unknown INCOMPAT feature may change the very layout read below.
        uint unknownIncompat = superblock.FeatureIncompat & ~ExtFeatures.IncompatUnderstood;
        if (unknownIncompat != 0)
        {
            return FileSystemAnalysis.WholeCopy(kind, partition.Length,
                $"{name} has INCOMPAT features this tool does not understand: {ExtFeatures.DescribeIncompat(unknownIncompat)}",
                label, uuid);
        }
        if (superblock.HasIncompat(ExtFeatures.IncompatRecover))
        {
            // The journal may hold bitmap blocks newer than those in place; replaying it after a used-blocks-only
            // copy would point files at blocks that were never copied.
            return FileSystemAnalysis.WholeCopy(kind, partition.Length,
                $"{name} journal needs recovery (INCOMPAT needs_recovery): the bitmaps on disk may be out of date",
                label, uuid);
        }
        superblock.Validate(partition.Length);
        if (!superblock.IsClean)
        {
            return FileSystemAnalysis.WholeCopy(kind, partition.Length,
                $"{name} was not cleanly unmounted or has errors recorded (s_state = 0x{superblock.State:X4})",
                label, uuid);
        }

        var warnings = new List<string>();
        uint unknownRoCompat = superblock.FeatureRoCompat & ~ExtFeatures.RoCompatUnderstood;
        if (unknownRoCompat != 0)
        {
            // RO_COMPAT promises that code unaware of the feature can still read the filesystem: the descriptors and
            // bitmaps stay where and what they were. bigalloc showed such a feature can still change what a bitmap
            // bit covers, so it is reported; a changed meaning would most likely also fail the free-count cross-check
            // in ExtBitmapReader, which then refuses the map.
            warnings.Add($"{name} has RO_COMPAT features this tool does not know: "
                + $"{ExtFeatures.DescribeRoCompat(unknownRoCompat)}; the bitmaps were read as usual");
        }

        var mapper = new ExtBitmapReader(partition, superblock);
        UsedBlockMap map = mapper.Map();
        if (mapper.UntrustedUninitGroupCount > 0)
        {
            string named = string.Join(", ", mapper.FirstUntrustedUninitGroups);
            long more = mapper.UntrustedUninitGroupCount - mapper.FirstUntrustedUninitGroups.Count;
            warnings.Add($"{name}: {mapper.UntrustedUninitGroupCount} BLOCK_UNINIT group(s) whose descriptor checksum "
                + $"does not verify are copied whole (group {named}{(more > 0 ? $" and {more} more" : string.Empty)})");
        }
        string unit = superblock.IsBigalloc ? "cluster" : "block";
        return new FileSystemAnalysis(kind, label, uuid, map, $"{name} {unit} bitmaps", warnings)
        {
            UnusedMetadataBytes = mapper.UnusedInodeTableBytes,
            RestoreFixups = mapper.ZeroedGroupsLeftOut > 0 ? [ExtInodeTableFixup.Name] : [],
        };
    }
}
