using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Fat;

/// <summary>The File Allocation Table of a FAT12/16/32 volume: one entry per cluster, read in bounded chunks.</summary>
/// <remarks>Microsoft FAT spec 1.03 section 4. An entry is 0 for a free cluster, the bad-cluster marker, an
/// end-of-chain marker, or the number of the next cluster. FAT32 entries are 28 bits: the top four are reserved
/// and masked off (section 4.1). Entries 0 and 1 are reserved; clusters are numbered from 2.</remarks>
public sealed class FatTable
{
    /// <summary>Entries decoded per read: 64 Ki entries is 256 KiB of FAT32, and even, so FAT12 chunks start on a byte.</summary>
    private const int ChunkEntries = 65536;

    private const string Structure = "FAT";

    private readonly IBlockSource _volume;
    private readonly FatBootSector _boot;
    private readonly int _entryBits;
    private readonly long _lastCluster;
    private readonly uint _badMarker;
    private readonly uint _reservedStart;

    /// <summary>A table over <paramref name="volume"/>, whose boot sector <paramref name="boot"/> has passed
    /// <see cref="FatBootSector.Validate"/>.</summary>
    public FatTable(IBlockSource volume, FatBootSector boot)
    {
        _volume = volume;
        _boot = boot;
        _entryBits = boot.FatEntryBits;
        _lastCluster = boot.ClusterCount + 1;
        (_badMarker, _reservedStart) = _entryBits switch
        {
            12 => (0xFF7u, 0xFF0u),
            16 => (0xFFF7u, 0xFFF0u),
            _ => (0x0FFFFFF7u, 0x0FFFFFF0u),
        };
    }

    /// <summary>Reads every FAT copy, reports each run of clusters that no copy uses to
    /// <paramref name="onFreeRun"/> (first cluster, count), and returns the counts.</summary>
    /// <remarks>A cluster is free when every copy says free or bad: where copies disagree, the one that uses the cluster
    /// wins, because fsck.fat may pick either copy and the data must survive both choices. Bad clusters are not copied:
    /// reading them fails on the source, and no file may use them.</remarks>
    public FatScan Scan(Action<long, long> onFreeRun)
    {
        long entries = _boot.ClusterCount + 2;
        var bytes = new byte[ChunkBytes(ChunkEntries)];
        var states = new EntryState[ChunkEntries];
        long free = 0;
        long bad = 0;
        long differing = 0;
        uint entry1 = 0;
        long runStart = -1;
        for (long first = 0; first < entries; first += ChunkEntries)
        {
            int count = (int)Math.Min(ChunkEntries, entries - first);
            for (int copy = 0; copy < _boot.NumberOfFats; copy++)
            {
                long fatStart = _boot.FatStartBytes + (copy * _boot.FatBytes);
                var chunk = bytes.AsSpan(0, ChunkBytes(count));
                _volume.ReadAt(fatStart + ChunkBytes(first), chunk);
                for (int i = 0; i < count; i++)
                {
                    long cluster = first + i;
                    uint value = Decode(chunk, i);
                    if (cluster < 2)
                    {
                        if (cluster == 1 && copy == 0)
                        {
                            entry1 = value;
                        }
                        continue;
                    }
                    EntryState state = Classify(value, cluster, fatStart);
                    if (copy == 0)
                    {
                        states[i] = state;
                    }
                    else if (states[i] != state)
                    {
                        differing++;
                        if (state == EntryState.Used || states[i] == EntryState.Used)
                        {
                            states[i] = EntryState.Used;
                        }
                    }
                }
            }
            for (int i = 0; i < count; i++)
            {
                long cluster = first + i;
                if (cluster < 2)
                {
                    continue;
                }
                if (states[i] == EntryState.Used)
                {
                    if (runStart >= 0)
                    {
                        onFreeRun(runStart, cluster - runStart);
                        runStart = -1;
                    }
                    continue;
                }
                if (states[i] == EntryState.Free)
                {
                    free++;
                }
                else
                {
                    bad++;
                }
                if (runStart < 0)
                {
                    runStart = cluster;
                }
            }
        }
        if (runStart >= 0)
        {
            onFreeRun(runStart, entries - runStart);
        }
        return new FatScan(free, bad, differing, entry1);
    }

    /// <summary>The entry of <paramref name="cluster"/> in the first FAT, with FAT32's reserved bits masked off.</summary>
    public uint ReadEntry(long cluster)
    {
        Span<byte> entry = stackalloc byte[_entryBits == 32 ? 4 : 2];
        _volume.ReadAt(EntryOffset(_boot.FatStartBytes, cluster), entry);
        return DecodeAt(entry, (cluster & 1) != 0);
    }

    /// <summary>The next cluster of a chain after <paramref name="cluster"/>, or null at its end.</summary>
    /// <exception cref="DiskFormatException">The entry is free, bad, or points outside the volume's clusters.</exception>
    public long? Next(long cluster)
    {
        uint value = ReadEntry(cluster);
        if (value >= _badMarker + 1)
        {
            return null;
        }
        if (value >= 2 && value <= _lastCluster)
        {
            return value;
        }
        throw new DiskFormatException(Structure, $"entry {cluster}", $"0x{value:X}", EntryOffset(_boot.FatStartBytes, cluster),
            value == 0 ? "a chain runs into a free cluster"
            : value == _badMarker ? "a chain runs into a bad cluster"
            : $"points outside clusters 2..{_lastCluster}");
    }

    private EntryState Classify(uint value, long cluster, long fatStart)
    {
        if (value == 0)
        {
            return EntryState.Free;
        }
        if (value == _badMarker)
        {
            return EntryState.Bad;
        }
        // 0xFF0..0xFF6 (and FAT16/32's equivalents) are reserved values and 0xFF8 up end a chain: the cluster is in use.
        if (value >= _reservedStart || (value >= 2 && value <= _lastCluster))
        {
            return EntryState.Used;
        }
        throw new DiskFormatException(Structure, $"entry {cluster}", $"0x{value:X}", EntryOffset(fatStart, cluster),
            $"points outside clusters 2..{_lastCluster}");
    }

    /// <summary>Entry <paramref name="index"/> of a chunk that starts at an even entry.</summary>
    private uint Decode(ReadOnlySpan<byte> chunk, int index) =>
        DecodeAt(chunk[(int)(index * (long)_entryBits / 8)..], (index & 1) != 0);

    /// <summary>The entry whose first byte starts <paramref name="entry"/>.</summary>
    private uint DecodeAt(ReadOnlySpan<byte> entry, bool odd) => _entryBits switch
    {
        // Two FAT12 entries share three bytes: the even one takes the low 12 bits, the odd one the high 12.
        12 => odd
            ? (uint)(BinaryPrimitives.ReadUInt16LittleEndian(entry) >> 4)
            : (uint)(BinaryPrimitives.ReadUInt16LittleEndian(entry) & 0xFFF),
        16 => BinaryPrimitives.ReadUInt16LittleEndian(entry),
        _ => BinaryPrimitives.ReadUInt32LittleEndian(entry) & 0x0FFFFFFF,
    };

    /// <summary>Bytes that <paramref name="entries"/> entries fill, from an even entry.</summary>
    private int ChunkBytes(int entries) => (int)ChunkBytes((long)entries);

    private long ChunkBytes(long entries) => ((entries * _entryBits) + 7) / 8;

    /// <summary>Byte offset of the entry for <paramref name="cluster"/> in the first FAT.</summary>
    public long EntryOffset(long cluster) => EntryOffset(_boot.FatStartBytes, cluster);

    private long EntryOffset(long fatStart, long cluster) => fatStart + (cluster * _entryBits / 8);

    private enum EntryState : byte
    {
        Free,
        Bad,
        Used,
    }
}

/// <summary>What a scan of the FAT counted.</summary>
/// <param name="FreeClusters">Clusters whose entry is 0 in every FAT copy.</param>
/// <param name="BadClusters">Clusters marked bad (and used by no copy).</param>
/// <param name="DifferingEntries">Clusters the FAT copies disagree about: free, bad or used.</param>
/// <param name="Entry1">FAT[1] of the first FAT, which holds the clean-shutdown bits on FAT16 and FAT32.</param>
public sealed record FatScan(long FreeClusters, long BadClusters, long DifferingEntries, uint Entry1);
