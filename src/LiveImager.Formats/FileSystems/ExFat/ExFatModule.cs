using LiveImager.Formats.FileSystems.Fat;

namespace LiveImager.Formats.FileSystems.ExFat;

/// <summary>exFAT: used blocks from the allocation bitmap, found through the root directory.</summary>
/// <remarks>
/// Used: everything before the cluster heap (main and backup boot regions, FAT, alignment), every cluster the
/// allocation bitmap marks used, and the sectors past the last cluster. Only clusters the bitmap marks free are ever
/// cleared, so the map is what partclone.exfat copies. The bitmap, the up-case table and the root directory must all be
/// marked used in the bitmap; if one is not, the bitmap cannot be trusted and the volume is copied whole.
/// <para>Block size: as for FAT (<see cref="FatModule.MapBlockSize"/>), the largest power of two up to the cluster size
/// that divides the cluster heap's offset; mkfs.exfat aligns the heap, so this is the cluster size.</para>
/// <para>PercentInUse is not a cross-check: Linux's exfat driver leaves it as mkfs wrote it, so on most volumes
/// written from Linux it is stale; a difference is reported as a warning only. The bitmap is the spec's record of
/// what is allocated, and every cleared cluster is proven free by it.</para>
/// </remarks>
public sealed class ExFatModule : IFileSystemModule
{
    /// <summary>Bitmap bytes read at a time: 1 MiB describes 8 Mi clusters.</summary>
    private const int BitmapReadBytes = 1 << 20;

    /// <summary>How far PercentInUse may be from the bitmap's own figure before it is worth a warning.</summary>
    private const int PercentInUseTolerance = 1;

    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        ExFatBootSector.LooksLikeExFat(head) ? FileSystemKind.ExFat : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var sector = new byte[ExFatBootSector.Size];
        partition.ReadAt(0, sector);
        var boot = ExFatBootSector.Parse(sector);
        boot.ValidateSectorSize();
        var region = new byte[ExFatBootSector.BootRegionSectors * boot.BytesPerSector];
        partition.ReadAt(0, region);
        ExFatBootChecksum.Verify(region, boot.BytesPerSector);
        boot.Validate(partition.Length);

        string uuid = $"{boot.VolumeSerialNumber >> 16:X4}-{boot.VolumeSerialNumber & 0xFFFF:X4}";
        var fat = new ExFatFileAllocationTable(partition, boot);
        var root = ExFatRootDirectory.Read(partition, boot, fat);
        string? label = string.IsNullOrEmpty(root.Label) ? null : root.Label;
        if (boot.NumberOfFats != 1)
        {
            // TexFAT keeps a second FAT and bitmap and says in VolumeFlags which is active; no Linux tool writes it.
            return FileSystemAnalysis.WholeCopy(FileSystemKind.ExFat, partition.Length,
                "exfat with two FATs (TexFAT) is not mapped", label, uuid);
        }

        var (bitmapFirst, bitmapClusters) = Extent(boot, root.Bitmap, root.BitmapEntryOffset, "allocation bitmap");
        long bitmapBytes = (boot.ClusterCount + 7L) / 8;
        if ((long)root.Bitmap.DataLength < bitmapBytes)
        {
            throw new DiskFormatException("exfat allocation bitmap entry", "DataLength", root.Bitmap.DataLength,
                root.BitmapEntryOffset + ExFatDirectoryEntry.DataLengthOffset,
                $"is shorter than the {bitmapBytes} bytes {boot.ClusterCount} clusters need");
        }
        var (upcaseFirst, upcaseClusters) = Extent(boot, root.Upcase, root.UpcaseEntryOffset, "up-case table");

        int blockSize = FatModule.MapBlockSize(boot.ClusterHeapStartBytes, boot.ClusterBytes, boot.BytesPerSector);
        var map = new UsedBlockMap(boot.VolumeBytes / blockSize, blockSize);
        long firstHeapBlock = boot.ClusterHeapStartBytes / blockSize;
        long blocksPerCluster = boot.ClusterBytes / blockSize;
        long bitmapStart = boot.ClusterStartBytes(bitmapFirst);
        long usedClusters = ClearFreeClusters(partition, boot, bitmapStart, (first, count) =>
            map.MarkFree(firstHeapBlock + ((first - 2) * blocksPerCluster), count * blocksPerCluster));

        void RequireUsed(long cluster, string what)
        {
            if (!map.IsUsed(firstHeapBlock + ((cluster - 2) * blocksPerCluster)))
            {
                throw new DiskFormatException("exfat allocation bitmap", $"bit for cluster {cluster}", 0,
                    bitmapStart + ((cluster - 2) / 8), $"marks free a cluster of the {what}");
            }
        }
        for (long i = 0; i < bitmapClusters; i++)
        {
            RequireUsed(bitmapFirst + i, "allocation bitmap itself");
        }
        for (long i = 0; i < upcaseClusters; i++)
        {
            RequireUsed(upcaseFirst + i, "up-case table");
        }
        foreach (long cluster in root.Clusters)
        {
            RequireUsed(cluster, "root directory");
        }

        var warnings = new List<string>();
        if (boot.IsDirty)
        {
            warnings.Add("exfat: VolumeDirty is set: the volume was not cleanly unmounted; run fsck.exfat on the source");
        }
        long percent = usedClusters * 100 / boot.ClusterCount;
        if (boot.PercentInUse != ExFatBootSector.PercentInUseUnknown
            && Math.Abs(boot.PercentInUse - percent) > PercentInUseTolerance)
        {
            warnings.Add($"exfat: PercentInUse = {boot.PercentInUse} in the boot sector, but the allocation bitmap marks " +
                $"{percent}% of clusters used; the bitmap is used (PercentInUse is often stale)");
        }
        return new FileSystemAnalysis(FileSystemKind.ExFat, label, uuid, map, "exfat allocation bitmap", warnings);
    }

    /// <summary>The clusters a bitmap or up-case entry occupies, checked to lie inside the cluster heap.</summary>
    /// <remarks>Both are read as contiguous runs from FirstCluster, as the Linux driver and exfatprogs read them.</remarks>
    private static (long First, long Count) Extent(ExFatBootSector boot, ExFatDirectoryEntry entry, long entryOffset, string what)
    {
        string structure = $"exfat {what} entry";
        if (entry.DataLength == 0 || entry.DataLength > (ulong)boot.ClusterCount * (ulong)boot.ClusterBytes)
        {
            throw new DiskFormatException(structure, "DataLength", entry.DataLength,
                entryOffset + ExFatDirectoryEntry.DataLengthOffset, "is zero or larger than the cluster heap");
        }
        long count = (long)((entry.DataLength + (ulong)boot.ClusterBytes - 1) / (ulong)boot.ClusterBytes);
        if (!boot.IsHeapCluster(entry.FirstCluster) || !boot.IsHeapCluster(entry.FirstCluster + count - 1))
        {
            throw new DiskFormatException(structure, "FirstCluster", entry.FirstCluster,
                entryOffset + ExFatDirectoryEntry.FirstClusterOffset,
                $"{count} clusters from there lie outside clusters 2..{boot.ClusterCount + 1L}");
        }
        return (entry.FirstCluster, count);
    }

    /// <summary>Streams the allocation bitmap at <paramref name="bitmapStart"/>, reports each run of free clusters
    /// (first cluster, count) to <paramref name="onFreeRun"/>, and returns the number of used clusters.</summary>
    private static long ClearFreeClusters(IBlockSource partition, ExFatBootSector boot, long bitmapStart, Action<long, long> onFreeRun)
    {
        long clusters = boot.ClusterCount;
        long bitmapBytes = (clusters + 7) / 8;
        var buffer = new byte[(int)Math.Min(BitmapReadBytes, bitmapBytes)];
        long used = 0;
        long runStart = -1;
        for (long done = 0; done < bitmapBytes; done += buffer.Length)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, bitmapBytes - done));
            partition.ReadAt(bitmapStart + done, chunk);
            for (int i = 0; i < chunk.Length; i++)
            {
                long firstIndex = (done + i) * 8;
                byte bits = chunk[i];
                // Whole bytes of used or free clusters are the common case; skip the bit loop for them.
                if (bits is 0x00 or 0xFF && firstIndex + 8 <= clusters)
                {
                    if (bits == 0xFF)
                    {
                        used += 8;
                        if (runStart >= 0)
                        {
                            onFreeRun(runStart + 2, firstIndex - runStart);
                            runStart = -1;
                        }
                    }
                    else if (runStart < 0)
                    {
                        runStart = firstIndex;
                    }
                    continue;
                }
                for (int bit = 0; bit < 8; bit++)
                {
                    long index = firstIndex + bit;
                    if (index >= clusters)
                    {
                        break;
                    }
                    if ((bits & (1 << bit)) != 0)
                    {
                        used++;
                        if (runStart >= 0)
                        {
                            onFreeRun(runStart + 2, index - runStart);
                            runStart = -1;
                        }
                    }
                    else if (runStart < 0)
                    {
                        runStart = index;
                    }
                }
            }
        }
        if (runStart >= 0)
        {
            onFreeRun(runStart + 2, clusters - runStart);
        }
        return used;
    }
}
