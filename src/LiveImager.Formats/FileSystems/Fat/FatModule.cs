namespace LiveImager.Formats.FileSystems.Fat;

/// <summary>FAT12, FAT16 and FAT32: used blocks from the File Allocation Table.</summary>
/// <remarks>
/// Used: the reserved area (boot sector, FSInfo, backup boot sector), every FAT, the FAT12/16 root directory, the
/// sectors past the last whole cluster, and each cluster that some FAT copy does not mark free or bad. Only clusters
/// are ever cleared. On FAT16/32 the map is what partclone.fat copies; on FAT12 partclone misreads the 12-bit entries,
/// and the map is what fsck.fat counts.
/// <para>Block size: the largest power of two, at most the cluster size, that divides the data area's offset. Every
/// block then lies wholly in the metadata, in one cluster or in the tail, so the map is exact; on the cluster-aligned
/// volumes mkfs.fat and Windows make it is the cluster size, which keeps the map and its runs small. The sector size
/// would be exact too, but costs a bit per sector: 512 MiB of map for a 2 TiB FAT32 volume of 512-byte sectors.</para>
/// </remarks>
public sealed class FatModule : IFileSystemModule
{
    /// <summary>The most root directory entries a FAT directory may hold (spec section 6: 65,536), which bounds the
    /// FAT32 root directory walk for the label.</summary>
    private const int MaxDirectoryEntries = 65536;

    /// <summary>Bytes read at a time while looking through a directory.</summary>
    private const int DirectoryReadBytes = 65536;

    private const string VolumeNameUnset = "NO NAME";

    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        FatBootSector.LooksLikeFat(head) ? FatBootSector.Parse(head).Kind : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var sector = new byte[FatBootSector.Size];
        partition.ReadAt(0, sector);
        var boot = FatBootSector.Parse(sector);
        boot.Validate(partition.Length);

        var fat = new FatTable(partition, boot);
        string? label = FindRootLabel(partition, boot, fat) ?? boot.BootLabel;
        if (label is VolumeNameUnset or "")
        {
            label = null;
        }
        string? uuid = boot.VolumeSerial is { } serial ? $"{serial >> 16:X4}-{serial & 0xFFFF:X4}" : null;

        int blockSize = MapBlockSize(boot.DataStartBytes, boot.ClusterBytes, boot.BytesPerSector);
        var map = new UsedBlockMap(boot.VolumeBytes / blockSize, blockSize);
        long firstDataBlock = boot.DataStartBytes / blockSize;
        long blocksPerCluster = boot.ClusterBytes / blockSize;
        FatScan scan = fat.Scan((first, count) =>
            map.MarkFree(firstDataBlock + ((first - 2) * blocksPerCluster), count * blocksPerCluster));

        var warnings = new List<string>();
        if (scan.DifferingEntries > 0)
        {
            warnings.Add($"{boot.Kind.ToName()}: the {boot.NumberOfFats} FAT copies disagree about {scan.DifferingEntries} " +
                "clusters; a cluster any copy uses is copied");
        }
        if (scan.BadClusters > 0)
        {
            warnings.Add($"{boot.Kind.ToName()}: clusters marked bad: {scan.BadClusters}; they are not copied");
        }
        if (!IsClean(boot, scan.Entry1))
        {
            warnings.Add($"{boot.Kind.ToName()}: FAT[1] = 0x{scan.Entry1:X} says the volume was not cleanly unmounted " +
                "or had I/O errors; run fsck.fat on the source");
        }
        if (CheckFsInfo(partition, boot, scan) is { } fsInfoWarning)
        {
            warnings.Add(fsInfoWarning);
        }
        return new FileSystemAnalysis(boot.Kind, label, uuid, map, $"{boot.Kind.ToName()} FAT", warnings);
    }

    /// <summary>The map block size for a volume whose clusters start at <paramref name="dataStartBytes"/>: the largest
    /// power of two from <paramref name="minimumBytes"/> to <paramref name="clusterBytes"/> dividing that offset.</summary>
    /// <remarks>Shared with exFAT, whose cluster heap has the same alignment question.</remarks>
    public static int MapBlockSize(long dataStartBytes, int clusterBytes, int minimumBytes)
    {
        int size = clusterBytes;
        while (size > minimumBytes && dataStartBytes % size != 0)
        {
            size /= 2;
        }
        return size;
    }

    /// <summary>FAT[1]'s clean-shutdown (ClnShutBitMask) and no-error (HrdErrBitMask) bits, spec section 4.2;
    /// FAT12 has none.</summary>
    private static bool IsClean(FatBootSector boot, uint entry1) => boot.Kind switch
    {
        FileSystemKind.Fat16 => (entry1 & 0xC000) == 0xC000,
        FileSystemKind.Fat32 => (entry1 & 0x0C000000) == 0x0C000000,
        _ => true,
    };

    /// <summary>Compares FSInfo's free count with the FAT's; a difference is a warning, not a reason to copy whole.</summary>
    /// <remarks>The spec calls FSI_Free_Count a hint that "is not necessarily correct", fsck.fat -n only reports a
    /// wrong count, and the kernel recomputes it from the FAT. The map never trusts it: every cleared cluster is
    /// proven free by its own FAT entry, so a stale hint cannot make us skip data.</remarks>
    private static string? CheckFsInfo(IBlockSource partition, FatBootSector boot, FatScan scan)
    {
        if (boot.FsInfoSectorNumber is not { } number)
        {
            return null;
        }
        var sector = new byte[FatFsInfo.Size];
        long offset = (long)number * boot.BytesPerSector;
        partition.ReadAt(offset, sector);
        var fsInfo = FatFsInfo.Parse(sector);
        if (!fsInfo.HasSignatures)
        {
            return $"fat32: FSInfo sector {number} lacks its signatures; its free count was not checked";
        }
        if (fsInfo.FreeCount == FatFsInfo.UnknownFreeCount || fsInfo.FreeCount == scan.FreeClusters)
        {
            return null;
        }
        return $"fat32: FSInfo FSI_Free_Count = {fsInfo.FreeCount} at byte {offset + FatFsInfo.FreeCountFieldOffset}, " +
            $"but the FAT has {scan.FreeClusters} free clusters; the FAT is used (fsck.fat would correct the hint)";
    }

    /// <summary>The label from the root directory's volume-label entry, as blkid prefers it to the boot sector's.</summary>
    private static string? FindRootLabel(IBlockSource partition, FatBootSector boot, FatTable fat)
    {
        var buffer = new byte[DirectoryReadBytes];
        if (boot.Kind != FileSystemKind.Fat32)
        {
            long bytes = boot.RootEntryCount * (long)FatDirectoryEntry.Size;
            return FindLabelIn(partition, boot.RootDirStartBytes, bytes, buffer, out _);
        }
        // FAT32's root directory is a cluster chain: walk it no further than a directory can be long, and stop at a
        // cluster seen before, so a looped chain ends with an error instead of a hang.
        long maxClusters = ((MaxDirectoryEntries * (long)FatDirectoryEntry.Size) + boot.ClusterBytes - 1) / boot.ClusterBytes;
        var seen = new HashSet<long> { boot.RootCluster };
        long cluster = boot.RootCluster;
        while (true)
        {
            long start = boot.DataStartBytes + ((cluster - 2) * boot.ClusterBytes);
            if (FindLabelIn(partition, start, boot.ClusterBytes, buffer, out bool ended) is { } label)
            {
                return label;
            }
            if (ended || fat.Next(cluster) is not { } next)
            {
                return null;
            }
            if (!seen.Add(next))
            {
                throw new DiskFormatException("FAT", $"entry {cluster}", $"0x{next:X}", fat.EntryOffset(cluster),
                    $"the root directory's cluster chain returns to cluster {next}: a loop");
            }
            if (seen.Count > maxClusters)
            {
                throw new DiskFormatException("fat32 root directory", "cluster chain", seen.Count,
                    boot.DataStartBytes + ((boot.RootCluster - 2) * boot.ClusterBytes),
                    $"goes on past the {MaxDirectoryEntries} entries a directory may hold");
            }
            cluster = next;
        }
    }

    /// <summary>Looks through <paramref name="bytes"/> bytes of directory entries from <paramref name="offset"/>.</summary>
    private static string? FindLabelIn(IBlockSource partition, long offset, long bytes, byte[] buffer, out bool ended)
    {
        ended = false;
        for (long done = 0; done < bytes; done += buffer.Length)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, bytes - done));
            partition.ReadAt(offset + done, chunk);
            for (int at = 0; at + FatDirectoryEntry.Size <= chunk.Length; at += FatDirectoryEntry.Size)
            {
                var entry = FatDirectoryEntry.Parse(chunk[at..]);
                if (entry.IsEndOfDirectory)
                {
                    ended = true;
                    return null;
                }
                if (entry.IsVolumeLabel)
                {
                    return entry.Name;
                }
            }
        }
        return null;
    }
}
