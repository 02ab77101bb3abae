using System.Buffers.Binary;
using System.Numerics;

namespace LiveImager.Formats.FileSystems.Ext;

/// <summary>Builds the used-cluster map of a validated ext filesystem from its group descriptors and block bitmaps.</summary>
/// <remarks>Passes over the descriptor table, read one block at a time so memory does not grow with the group count:
/// (1) clear what each group's bitmap proves free, (2) mark every group's own metadata used again, (3) compare each
/// group's free count, then the total, with what the descriptors and the superblock record, (4) with descriptor
/// checksums, leave out the end of each inode table that bg_itable_unused says never held an inode.</remarks>
internal sealed class ExtBitmapReader
{
    /// <summary>Groups named in the warning about BLOCK_UNINIT groups whose checksum fails; the rest are counted.</summary>
    public const int MaxGroupsNamed = 8;

    /// <summary>The largest read of consecutive bitmap blocks.</summary>
    private const int MaxBatchBytes = 1 << 20;

    private readonly IBlockSource _partition;
    private readonly ExtSuperblock _superblock;
    private readonly ExtGroupLayout _layout;
    private readonly string _descriptorName;
    private readonly UsedBlockMap _map;
    private readonly ulong[] _untrustedGroups;
    private readonly List<long> _firstUntrusted = [];

    public ExtBitmapReader(IBlockSource partition, ExtSuperblock superblock)
    {
        _partition = partition;
        _superblock = superblock;
        _layout = new ExtGroupLayout(superblock);
        _descriptorName = $"{superblock.Kind.ToName()} group descriptor";
        _map = new UsedBlockMap(superblock.ClusterCount, superblock.ClusterSize);
        _untrustedGroups = new ulong[(superblock.GroupCount + 63) / 64];
    }

    /// <summary>BLOCK_UNINIT groups left all used because their descriptor checksum does not verify.</summary>
    public long UntrustedUninitGroupCount { get; private set; }

    /// <summary>The first <see cref="MaxGroupsNamed"/> of those groups.</summary>
    public IReadOnlyList<long> FirstUntrustedUninitGroups => _firstUntrusted;

    /// <summary>Bytes of inode tables past bg_itable_unused left out of the map (pass 4).</summary>
    public long UnusedInodeTableBytes { get; private set; }

    /// <summary>Groups whose unused inode-table end was left out although their descriptor says the table was zeroed
    /// (EXT4_BG_INODE_ZEROED): a restore clears that flag (<see cref="ExtInodeTableFixup"/>).</summary>
    public long ZeroedGroupsLeftOut { get; private set; }

    /// <summary>The map: all used, less what the bitmaps prove free; throws <see cref="DiskFormatException"/> when the
    /// metadata is corrupt or the counts disagree.</summary>
    public UsedBlockMap Map()
    {
        // flex_bg packs the bitmaps of many groups into consecutive blocks: those are read together, up to
        // MaxBatchBytes at once, so a large disk costs a few large reads rather than one small read per group.
        int batchLimit = Math.Max(1, MaxBatchBytes / _superblock.BlockSize);
        var batch = new List<DescriptorEntry>(batchLimit);
        var buffer = new byte[batchLimit * _superblock.BlockSize];
        foreach (var entry in Descriptors())
        {
            if (!NeedsBitmap(entry))
            {
                continue;
            }
            if (batch.Count == batchLimit
                || (batch.Count > 0 && entry.Descriptor.BlockBitmap != batch[^1].Descriptor.BlockBitmap + 1))
            {
                ClearFreeFromBitmaps(batch, buffer);
            }
            batch.Add(entry);
        }
        ClearFreeFromBitmaps(batch, buffer);
        foreach (var entry in Descriptors())
        {
            if (!IsUntrusted(entry.Group))
            {
                MarkGroupMetadata(entry, _superblock.InodeTableBlocks);
            }
        }
        CheckFreeCounts();
        LeaveOutUnusedInodeTables();
        return _map;
    }

    /// <summary>Pass 4: marks free the inode-table blocks past the last inode a group ever used.</summary>
    /// <remarks>Only with descriptor checksums (uninit_bg or metadata_csum): then the kernel keeps bg_itable_unused
    /// (it only ever lowers it as it hands out inodes past it) and e2fsck reads no inode past it, and only for groups
    /// whose checksum verifies, as e2fsprogs trusts the flags. A 1 TiB filesystem has 16 GiB of inode tables, nearly
    /// all of them never used. Runs after the free counts are checked, which count whole tables as used.</remarks>
    private void LeaveOutUnusedInodeTables()
    {
        if (!_superblock.HasGroupDescCsum)
        {
            return;
        }
        foreach (var entry in Descriptors())
        {
            var descriptor = entry.Descriptor;
            if (IsUntrusted(entry.Group) || !entry.ChecksumVerifies)
            {
                continue;
            }
            if (descriptor.ItableUnused > _superblock.InodesPerGroup)
            {
                Fail(entry, "bg_itable_unused", descriptor.ItableUnused, ExtGroupDescriptor.ItableUnusedLoOffset,
                    $"exceeds the {_superblock.InodesPerGroup} inodes per group");
            }
            long unused = descriptor.UnusedInodeTableBlocks(_superblock);
            if (unused == 0)
            {
                continue;
            }
            long end = (long)descriptor.InodeTable + _superblock.InodeTableBlocks;
            // Whole clusters only: under bigalloc a cluster may also hold the next group's table.
            long firstCluster = (end - unused + (1L << _superblock.ClusterBits) - 1) >> _superblock.ClusterBits;
            long endCluster = end >> _superblock.ClusterBits;
            if (endCluster > firstCluster)
            {
                _map.MarkFree(firstCluster, endCluster - firstCluster);
                UnusedInodeTableBytes += (endCluster - firstCluster) * _superblock.ClusterSize;
                if (descriptor.IsInodeZeroed)
                {
                    ZeroedGroupsLeftOut++;
                }
            }
        }
        // A sound filesystem keeps every table apart from all other metadata; one that does not must lose nothing to
        // the pass above, so the other metadata is marked used again (a file's blocks cannot lie in an inode table:
        // the kernel's block_validity refuses such a file).
        foreach (var entry in Descriptors())
        {
            if (!IsUntrusted(entry.Group))
            {
                MarkGroupMetadata(entry, inodeTableBlocks: _superblock.InodeTableBlocks - (entry.ChecksumVerifies
                    ? entry.Descriptor.UnusedInodeTableBlocks(_superblock)
                    : 0));
            }
        }
    }

    /// <summary>Checks the descriptor and returns whether the group's bitmap must be read; a BLOCK_UNINIT group's
    /// free clusters are cleared here instead, or the group is left all used when its checksum fails.</summary>
    private bool NeedsBitmap(in DescriptorEntry entry)
    {
        var descriptor = entry.Descriptor;
        if (_superblock.HasGroupDescCsum && descriptor.IsBlockUninit)
        {
            // e2fsprogs (read_bitmaps_range_start) and the kernel (ext4_read_block_bitmap_nowait) compute the bitmap
            // of such a group instead of reading it, but e2fsprogs only when the checksum vouches for the flag.
            if (entry.ChecksumVerifies)
            {
                CheckLocations(entry);
                _map.MarkFree(_layout.GroupFirstBlock(entry.Group) >> _superblock.ClusterBits,
                    _layout.GroupClusterCount(entry.Group));
            }
            else
            {
                MarkUntrusted(entry.Group);
            }
            return false;
        }
        if (_superblock.HasGroupDescCsum && !entry.ChecksumVerifies)
        {
            // The kernel refuses to mount such a filesystem (ext4_check_descriptors): the bitmap's location is not to
            // be believed.
            Fail(entry, "bg_checksum", $"0x{descriptor.Checksum:X4}", ExtGroupDescriptor.ChecksumOffset,
                $"does not match the computed 0x{entry.ComputedChecksum:X4}");
        }
        CheckLocations(entry);
        return true;
    }

    /// <summary>Reads the bitmaps of <paramref name="batch"/>, which lie in consecutive blocks, checks each one's
    /// checksum and clears what each proves free; empties the batch.</summary>
    private void ClearFreeFromBitmaps(List<DescriptorEntry> batch, byte[] buffer)
    {
        if (batch.Count == 0)
        {
            return;
        }
        int blockSize = _superblock.BlockSize;
        _partition.ReadAt((long)batch[0].Descriptor.BlockBitmap * blockSize, buffer.AsSpan(0, batch.Count * blockSize));
        for (int i = 0; i < batch.Count; i++)
        {
            var entry = batch[i];
            var bitmap = buffer.AsSpan(i * blockSize, blockSize);
            if (_superblock.HasMetadataCsum)
            {
                uint computed = entry.Descriptor.ComputeBlockBitmapCsum(
                    bitmap[..(int)(_superblock.ClustersPerGroup / 8)], _superblock.CsumSeed);
                if (computed != entry.Descriptor.BlockBitmapCsum)
                {
                    Fail(entry, "bg_block_bitmap_csum", $"0x{entry.Descriptor.BlockBitmapCsum:X}",
                        ExtGroupDescriptor.BlockBitmapCsumLoOffset,
                        $"does not match the computed 0x{computed:X} of the bitmap in block {entry.Descriptor.BlockBitmap}");
                }
            }
            ClearZeroBits(bitmap, _layout.GroupClusterCount(entry.Group),
                _layout.GroupFirstBlock(entry.Group) >> _superblock.ClusterBits);
        }
        batch.Clear();
    }

    /// <summary>Marks free, from <paramref name="firstCluster"/> on, each run of zero bits among the first
    /// <paramref name="bits"/> bits (least significant bit first, as ext bitmaps store them).</summary>
    private void ClearZeroBits(ReadOnlySpan<byte> bitmap, long bits, long firstCluster)
    {
        long runStart = -1;
        for (long word = 0; word * 64 < bits; word++)
        {
            int wordBits = (int)Math.Min(64, bits - word * 64);
            ulong value = ReadWord(bitmap, word);
            if (wordBits < 64)
            {
                value |= ulong.MaxValue << wordBits;
            }
            long wordStart = word * 64;
            // Walk the transitions between used and free bits of this word.
            int bit = 0;
            while (bit < 64)
            {
                if (runStart < 0)
                {
                    ulong free = ~value & (ulong.MaxValue << bit);
                    if (free == 0)
                    {
                        break;
                    }
                    bit = BitOperations.TrailingZeroCount(free);
                    runStart = wordStart + bit;
                }
                else
                {
                    ulong used = value & (ulong.MaxValue << bit);
                    if (used == 0)
                    {
                        break;
                    }
                    bit = BitOperations.TrailingZeroCount(used);
                    _map.MarkFree(firstCluster + runStart, wordStart + bit - runStart);
                    runStart = -1;
                }
            }
        }
        if (runStart >= 0)
        {
            _map.MarkFree(firstCluster + runStart, bits - runStart);
        }
    }

    private static ulong ReadWord(ReadOnlySpan<byte> bitmap, long word)
    {
        int offset = (int)(word * 8);
        if (offset + 8 <= bitmap.Length)
        {
            return BinaryPrimitives.ReadUInt64LittleEndian(bitmap[offset..]);
        }
        Span<byte> tail = stackalloc byte[8];
        tail.Fill(0xFF);
        bitmap[offset..].CopyTo(tail);
        return BinaryPrimitives.ReadUInt64LittleEndian(tail);
    }

    /// <summary>Marks used the group's superblock copy, descriptor and reserved descriptor blocks, bitmaps and inode
    /// table's first <paramref name="inodeTableBlocks"/> blocks, wherever they lie: always true of a sound filesystem,
    /// and what makes a BLOCK_UNINIT group's map.</summary>
    private void MarkGroupMetadata(in DescriptorEntry entry, long inodeTableBlocks)
    {
        long groupFirst = _layout.GroupFirstBlock(entry.Group);
        // Group 0 of a bigalloc filesystem with 1 KiB blocks begins with the boot block, before its superblock.
        long bootBlocks = entry.Group == 0 ? _superblock.SuperblockBlock - _superblock.FirstDataBlock : 0;
        MarkBlocksUsed(groupFirst, bootBlocks + _layout.BaseMetaBlocks(entry.Group));
        MarkBlocksUsed((long)entry.Descriptor.BlockBitmap, 1);
        MarkBlocksUsed((long)entry.Descriptor.InodeBitmap, 1);
        MarkBlocksUsed((long)entry.Descriptor.InodeTable, inodeTableBlocks);
    }

    private void MarkBlocksUsed(long firstBlock, long blocks)
    {
        if (blocks == 0)
        {
            return;
        }
        long firstCluster = firstBlock >> _superblock.ClusterBits;
        long lastCluster = (firstBlock + blocks - 1) >> _superblock.ClusterBits;
        _map.MarkUsed(firstCluster, lastCluster - firstCluster + 1);
    }

    private void CheckFreeCounts()
    {
        string unit = _superblock.IsBigalloc ? "clusters" : "blocks";
        using var runs = _map.UsedRuns().GetEnumerator();
        bool hasRun = runs.MoveNext();
        long totalFree = 0;
        foreach (var entry in Descriptors())
        {
            long first = _layout.GroupFirstBlock(entry.Group) >> _superblock.ClusterBits;
            long end = first + _layout.GroupClusterCount(entry.Group);
            long used = 0;
            // Runs are ascending and groups too: sum the part of each run inside this group, keeping a run that
            // reaches into the next group.
            while (hasRun && runs.Current.First < end)
            {
                long runEnd = runs.Current.First + runs.Current.Count;
                used += Math.Min(runEnd, end) - Math.Max(runs.Current.First, first);
                if (runEnd > end)
                {
                    break;
                }
                hasRun = runs.MoveNext();
            }
            long free = end - first - used;
            if (IsUntrusted(entry.Group))
            {
                // Its blocks are all copied; its recorded count stands in for the one its bitmap would give.
                totalFree += entry.Descriptor.FreeClustersCount;
                continue;
            }
            if (free != entry.Descriptor.FreeClustersCount)
            {
                Fail(entry, "bg_free_blocks_count", entry.Descriptor.FreeClustersCount,
                    ExtGroupDescriptor.FreeBlocksCountLoOffset, $"the bitmap shows {free} free {unit}");
            }
            totalFree += free;
        }
        // The kernel writes s_free_blocks_count when it unmounts or syncs the superblock, so on a cleanly unmounted
        // filesystem it agrees with the descriptors; e2fsck treats the descriptors as the truth and silently rewrites
        // the superblock's total. Requiring both to agree costs a whole copy on a stale superblock: the safe side.
        ulong freeBlocks = (ulong)totalFree << _superblock.ClusterBits;
        if (freeBlocks != _superblock.FreeBlocksCount)
        {
            _superblock.Fail("s_free_blocks_count", _superblock.FreeBlocksCount, ExtSuperblock.FreeBlocksCountLoOffset,
                $"the block bitmaps show {freeBlocks} free blocks");
        }
    }

    private void CheckLocations(in DescriptorEntry entry)
    {
        var descriptor = entry.Descriptor;
        CheckRange(entry, "bg_block_bitmap", descriptor.BlockBitmap, 1, ExtGroupDescriptor.BlockBitmapLoOffset);
        CheckRange(entry, "bg_inode_bitmap", descriptor.InodeBitmap, 1, ExtGroupDescriptor.InodeBitmapLoOffset);
        CheckRange(entry, "bg_inode_table", descriptor.InodeTable, (ulong)_superblock.InodeTableBlocks,
            ExtGroupDescriptor.InodeTableLoOffset);
    }

    private void CheckRange(in DescriptorEntry entry, string field, ulong block, ulong count, int fieldOffset)
    {
        if (block < _superblock.FirstDataBlock || block > _superblock.BlocksCount || count > _superblock.BlocksCount - block)
        {
            Fail(entry, field, block, fieldOffset,
                $"{count} block(s) there lie outside the filesystem's blocks {_superblock.FirstDataBlock}..{_superblock.BlocksCount - 1}");
        }
    }

    private void MarkUntrusted(long group)
    {
        _untrustedGroups[group >> 6] |= 1UL << (int)(group & 63);
        UntrustedUninitGroupCount++;
        if (_firstUntrusted.Count < MaxGroupsNamed)
        {
            _firstUntrusted.Add(group);
        }
    }

    private bool IsUntrusted(long group) => (_untrustedGroups[group >> 6] & (1UL << (int)(group & 63))) != 0;

    /// <summary>Every group's descriptor, read one descriptor block at a time.</summary>
    private IEnumerable<DescriptorEntry> Descriptors()
    {
        int size = _superblock.DescriptorSize;
        int perBlock = _superblock.DescriptorsPerBlock;
        var block = new byte[_superblock.BlockSize];
        long group = 0;
        for (long index = 0; index < _superblock.DescriptorBlocks; index++)
        {
            long blockOffset = checked(_layout.DescriptorBlock(index) * _superblock.BlockSize);
            _partition.ReadAt(blockOffset, block);
            for (int slot = 0; slot < perBlock && group < _superblock.GroupCount; slot++, group++)
            {
                var bytes = block.AsSpan(slot * size, size);
                ushort computed = _superblock.HasGroupDescCsum
                    ? ExtGroupDescriptor.ComputeChecksum(bytes, (uint)group, _superblock)
                    : (ushort)0;
                var descriptor = ExtGroupDescriptor.Parse(bytes);
                yield return new DescriptorEntry(group, descriptor, blockOffset + slot * size,
                    computed, !_superblock.HasGroupDescCsum || computed == descriptor.Checksum);
            }
        }
    }

    private void Fail(in DescriptorEntry entry, string field, object value, int fieldOffset, string problem) =>
        throw new DiskFormatException(_descriptorName, field, value, entry.Offset + fieldOffset,
            $"group {entry.Group}: {problem}");

    private readonly record struct DescriptorEntry(
        long Group, ExtGroupDescriptor Descriptor, long Offset, ushort ComputedChecksum, bool ChecksumVerifies);
}
