using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.ExFat;

/// <summary>The exFAT File Allocation Table, read an entry at a time to follow cluster chains.</summary>
/// <remarks>exFAT specification section 4.1: 32-bit entries; 2..ClusterCount+1 name the next cluster, 0xFFFFFFF7 marks
/// a bad cluster, 0xFFFFFFFF ends a chain. Which clusters are free is the allocation bitmap's to say, not the FAT's:
/// a contiguous file may leave its FAT entries unwritten.</remarks>
public sealed class ExFatFileAllocationTable(IBlockSource volume, ExFatBootSector boot)
{
    private const uint BadCluster = 0xFFFFFFF7;
    private const uint EndOfChain = 0xFFFFFFFF;

    /// <summary>Byte offset of the entry for <paramref name="cluster"/> in the (first) FAT.</summary>
    public long EntryOffset(long cluster) => boot.FatStartBytes + (cluster * 4);

    /// <summary>The cluster after <paramref name="cluster"/> in its chain, or null when the chain ends there.</summary>
    /// <exception cref="DiskFormatException">The entry marks a bad cluster or points outside the cluster heap.</exception>
    public long? Next(long cluster)
    {
        Span<byte> entry = stackalloc byte[4];
        volume.ReadAt(EntryOffset(cluster), entry);
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(entry);
        if (value == EndOfChain)
        {
            return null;
        }
        if (boot.IsHeapCluster(value))
        {
            return value;
        }
        throw new DiskFormatException("exfat FAT", $"entry {cluster}", $"0x{value:X8}", EntryOffset(cluster),
            value == BadCluster ? "a chain runs into a bad cluster" : $"points outside clusters 2..{boot.ClusterCount + 1L}");
    }
}
