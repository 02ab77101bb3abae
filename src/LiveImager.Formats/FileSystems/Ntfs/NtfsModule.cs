using System.Text;

namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>NTFS: the used clusters from $Bitmap, found through its MFT record and data runs.</summary>
/// <remarks>The map covers exactly the volume's clusters (number_of_sectors / sectors_per_cluster). The backup boot
/// sector lies past them, in the partition's last sector, and is copied with everything else past the map; partclone
/// leaves it out, and its restores fail <c>ntfsfix -n</c> with "alternate boot sector BAD".
/// NTFS records no free-cluster count to cross-check against; instead the bitmap must be long enough for the volume,
/// and must mark used the clusters this module knows are: the boot sector, the MFT, the MFT mirror, and $Bitmap.</remarks>
public sealed class NtfsModule : IFileSystemModule
{
    private const long MftRecord = 0;     // $MFT
    private const long LogFileRecord = 2; // $LogFile
    private const long VolumeRecord = 3;  // $Volume
    private const long BitmapRecord = 6;  // $Bitmap

    /// <summary>Largest $VOLUME_NAME value: 128 UTF-16 characters (NTFS_MAX_LABEL_LENGTH in ntfs-3g's mkntfs).</summary>
    private const int MaxLabelBytes = 256;

    /// <summary>How much of $Bitmap is read at a time, so a 16 TiB volume's 512 MiB bitmap is never held at once.</summary>
    private const int BitmapChunkBytes = 1 << 20;

    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        NtfsBootSector.HasSignature(head) ? FileSystemKind.Ntfs : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var sector = new byte[NtfsBootSector.Size];
        partition.ReadAt(0, sector);
        var boot = NtfsBootSector.Parse(sector);
        boot.Validate(partition.Length);
        int clusterSize = boot.ClusterSize;
        long clusters = boot.ClusterCount;

        var mftRuns = ReadMftRunList(partition, boot);
        var volume = ReadRecord(partition, boot, mftRuns, VolumeRecord);
        string? label = ReadLabel(volume);
        var volumeInformation = volume.Find(NtfsAttribute.VolumeInformation)
            ?? throw Missing(volume, "$VOLUME_INFORMATION (0x70)");
        var information = NtfsVolumeInformation.Parse(
            volumeInformation.ResidentValue(NtfsVolumeInformation.Size, out long informationOffset), informationOffset);
        information.Validate(informationOffset);
        if (information.IsDirty)
        {
            // An unclean volume's $Bitmap may lag its journal: clusters the log will claim on the next mount can
            // still read as free. Nothing is proven free, so nothing is skipped; the volume is not touched either.
            return FileSystemAnalysis.WholeCopy(FileSystemKind.Ntfs, partition.Length, "NTFS volume is marked dirty",
                label, boot.SerialText,
                [$"NTFS volume flags 0x{information.Flags:X4}: VOLUME_IS_DIRTY is set (unclean shutdown, hibernation or a " +
                 "pending chkdsk); copied whole and left as found. Let Windows check the volume for a smaller image."]);
        }

        var journal = ReadJournalState(partition, boot, mftRuns);
        if (!journal.IsClean)
        {
            // Windows hibernated (Fast Startup) or stopped without unmounting: $Bitmap may not show what the journal
            // and the hibernated memory hold, so nothing is proven free. ntfs-3g refuses such volumes for writing.
            return FileSystemAnalysis.WholeCopy(FileSystemKind.Ntfs, partition.Length, "NTFS journal is not clean",
                label, boot.SerialText,
                [$"NTFS $LogFile restart area: client_in_use_list 0x{journal.ClientInUseList:X4}, flags 0x{journal.Flags:X4}: " +
                 "the journal is open (Windows hibernated by Fast Startup, or stopped without unmounting); copied whole " +
                 "and left as found. Shut Windows down fully for a smaller image."]);
        }

        var bitmapRuns = ReadBitmapRunList(partition, boot, mftRuns, out long bitmapBytes);
        var map = new UsedBlockMap(clusters, clusterSize);
        ClearFreeClusters(partition, bitmapRuns, clusterSize, bitmapBytes, map);

        RequireUsed(map, 0, 1, "the boot sector", bitmapRuns, clusterSize);
        foreach (var extent in mftRuns.Extents)
        {
            RequireUsed(map, extent.Lcn, extent.Length, "$MFT", bitmapRuns, clusterSize);
        }
        RequireUsed(map, boot.MftMirrLcn, 1, "$MFTMirr", bitmapRuns, clusterSize);
        foreach (var extent in bitmapRuns.Extents)
        {
            RequireUsed(map, extent.Lcn, extent.Length, "$Bitmap", bitmapRuns, clusterSize);
        }
        return new FileSystemAnalysis(FileSystemKind.Ntfs, label, boot.SerialText, map, "ntfs $Bitmap", []);
    }

    /// <summary>$MFT's own run list, from record 0 at the boot sector's mft_lcn. With an attribute list it may map only
    /// the MFT's start; the system records 0..15 always lie there.</summary>
    private static NtfsRunList ReadMftRunList(IBlockSource partition, NtfsBootSector boot)
    {
        long offset = boot.MftLcn * boot.ClusterSize;
        var bytes = new byte[boot.MftRecordSize];
        partition.ReadAt(offset, bytes);
        var record = NtfsFileRecord.Read(bytes, MftRecord, offset);
        var data = (record.Find(NtfsAttribute.Data) ?? throw Missing(record, "$DATA (0x80)")).NonResident();
        var runs = NtfsRunList.Decode(data, boot.ClusterCount);
        if (runs.FirstVcn != 0 || runs.Extents.Count == 0 || runs.Extents[0].Lcn != boot.MftLcn)
        {
            throw new DiskFormatException($"NTFS MFT record {MftRecord} attribute 0x80 data runs", "first run LCN",
                runs.Extents.Count > 0 ? runs.Extents[0].Lcn : -1, data.MappingPairsDiskOffset,
                $"the MFT's data must start at VCN 0 in cluster {boot.MftLcn}, where the boot sector puts it");
        }
        return runs;
    }

    private static NtfsFileRecord ReadRecord(IBlockSource partition, NtfsBootSector boot, NtfsRunList mftRuns, long number)
    {
        var bytes = new byte[boot.MftRecordSize];
        long offset = number * boot.MftRecordSize;
        mftRuns.Read(partition, boot.ClusterSize, offset, bytes, $"NTFS MFT record {number}");
        return NtfsFileRecord.Read(bytes, number, mftRuns.DiskOffset(offset, boot.ClusterSize));
    }

    private static string? ReadLabel(NtfsFileRecord volume)
    {
        if (volume.Find(NtfsAttribute.VolumeName) is not { } attribute)
        {
            return null;
        }
        var value = attribute.ResidentValue(MaxLabelBytes, out long valueOffset);
        if (value.Length % 2 != 0)
        {
            throw new DiskFormatException("NTFS $VOLUME_NAME", "value_length", value.Length, valueOffset,
                "a UTF-16 name has an even number of bytes");
        }
        return value.IsEmpty ? null : Encoding.Unicode.GetString(value);
    }

    /// <summary>The state of the journal from $LogFile's first restart page.</summary>
    private static NtfsLogFileRestartPage ReadJournalState(IBlockSource partition, NtfsBootSector boot, NtfsRunList mftRuns)
    {
        var record = ReadRecord(partition, boot, mftRuns, LogFileRecord);
        var data = (record.Find(NtfsAttribute.Data) ?? throw Missing(record, "$DATA (0x80)")).NonResident();
        var runs = NtfsRunList.Decode(data, boot.ClusterCount);
        long available = Math.Min(data.InitializedSize, runs.ClusterCount * boot.ClusterSize);
        const string Structure = "NTFS $LogFile restart page";
        if (runs.FirstVcn != 0 || available < NtfsLogFileRestartPage.FirstReadSize)
        {
            throw new DiskFormatException(Structure, "initialized_size", data.InitializedSize,
                data.DiskOffset + NtfsAttribute.InitializedSizeOffset,
                $"the journal must start at VCN 0 with at least {NtfsLogFileRestartPage.FirstReadSize} bytes");
        }
        var start = new byte[NtfsLogFileRestartPage.FirstReadSize];
        runs.Read(partition, boot.ClusterSize, 0, start, Structure);
        long diskOffset = runs.DiskOffset(0, boot.ClusterSize);
        int pageSize = NtfsLogFileRestartPage.SystemPageSize(start, diskOffset);
        if (pageSize == 0)
        {
            return NtfsLogFileRestartPage.Empty;
        }
        if (pageSize > available)
        {
            throw new DiskFormatException(Structure, "system_page_size", pageSize, diskOffset,
                $"exceeds the journal's {available} initialized bytes");
        }
        var page = new byte[pageSize];
        runs.Read(partition, boot.ClusterSize, 0, page, Structure);
        return NtfsLogFileRestartPage.Parse(page, diskOffset);
    }

    /// <summary>$Bitmap's run list, checked to cover the whole volume; <paramref name="bitmapBytes"/> is how many of its
    /// bytes describe the volume's clusters.</summary>
    private static NtfsRunList ReadBitmapRunList(IBlockSource partition, NtfsBootSector boot, NtfsRunList mftRuns,
        out long bitmapBytes)
    {
        var record = ReadRecord(partition, boot, mftRuns, BitmapRecord);
        if (record.Find(NtfsAttribute.Data) is not { } attribute)
        {
            throw record.Find(NtfsAttribute.AttributeList) is null
                ? Missing(record, "$DATA (0x80)")
                : new DiskFormatException($"NTFS MFT record {BitmapRecord}", "$ATTRIBUTE_LIST", "present", record.DiskOffset,
                    "$Bitmap's data lives in other MFT records; attribute lists are not followed");
        }
        var data = attribute.NonResident();
        var runs = NtfsRunList.Decode(data, boot.ClusterCount);
        string structure = data.Structure;
        if (data.LowestVcn != 0 || runs.ClusterCount * boot.ClusterSize != data.AllocatedSize)
        {
            throw new DiskFormatException(structure, "allocated_size", data.AllocatedSize,
                data.DiskOffset + NtfsAttribute.AllocatedSizeOffset,
                $"the runs from VCN {data.LowestVcn} map {runs.ClusterCount} clusters of {boot.ClusterSize} bytes; " +
                "$Bitmap's whole data must be in its own record");
        }
        bitmapBytes = (boot.ClusterCount + 7) / 8;
        if (data.DataSize < bitmapBytes || data.DataSize > data.AllocatedSize)
        {
            throw new DiskFormatException(structure, "data_size", data.DataSize, data.DiskOffset + NtfsAttribute.DataSizeOffset,
                $"{boot.ClusterCount} clusters need {bitmapBytes} bytes of bitmap, within the {data.AllocatedSize} allocated");
        }
        // Bytes past initialized_size read as zeros, which would say "free": every bit used must be on disk.
        if (data.InitializedSize < bitmapBytes || data.InitializedSize > data.DataSize)
        {
            throw new DiskFormatException(structure, "initialized_size", data.InitializedSize,
                data.DiskOffset + NtfsAttribute.InitializedSizeOffset,
                $"the first {bitmapBytes} bytes must be initialized, within data_size {data.DataSize}");
        }
        return runs;
    }

    /// <summary>Clears in <paramref name="map"/> each cluster whose bit in $Bitmap is 0.</summary>
    private static void ClearFreeClusters(IBlockSource partition, NtfsRunList bitmapRuns, int clusterSize, long bitmapBytes,
        UsedBlockMap map)
    {
        var buffer = new byte[(int)Math.Min(BitmapChunkBytes, bitmapBytes)];
        long freeStart = -1;
        for (long offset = 0; offset < bitmapBytes; offset += buffer.Length)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, bitmapBytes - offset));
            bitmapRuns.Read(partition, clusterSize, offset, chunk, "NTFS $Bitmap");
            for (int i = 0; i < chunk.Length; i++)
            {
                byte bits = chunk[i];
                long firstCluster = (offset + i) * 8;
                if (bits == 0xFF)
                {
                    if (freeStart >= 0)
                    {
                        map.MarkFree(freeStart, firstCluster - freeStart);
                        freeStart = -1;
                    }
                    continue;
                }
                if (bits == 0 && firstCluster + 8 <= map.BlockCount)
                {
                    freeStart = freeStart < 0 ? firstCluster : freeStart;
                    continue;
                }
                for (int bit = 0; bit < 8; bit++)
                {
                    long cluster = firstCluster + bit;
                    if (cluster >= map.BlockCount)
                    {
                        break;
                    }
                    bool used = (bits & (1 << bit)) != 0;
                    if (!used && freeStart < 0)
                    {
                        freeStart = cluster;
                    }
                    else if (used && freeStart >= 0)
                    {
                        map.MarkFree(freeStart, cluster - freeStart);
                        freeStart = -1;
                    }
                }
            }
        }
        // Bits past the last cluster pad the last byte; they describe nothing.
        if (freeStart >= 0)
        {
            map.MarkFree(freeStart, map.BlockCount - freeStart);
        }
    }

    private static void RequireUsed(UsedBlockMap map, long first, long count, string owner, NtfsRunList bitmapRuns, int clusterSize)
    {
        for (long cluster = first; cluster < first + count; cluster++)
        {
            if (!map.IsUsed(cluster))
            {
                throw new DiskFormatException("NTFS $Bitmap", $"bit {cluster}", 0, bitmapRuns.DiskOffset(cluster / 8, clusterSize),
                    $"marks cluster {cluster} of {owner} free; the bitmap cannot be trusted");
            }
        }
    }

    private static DiskFormatException Missing(NtfsFileRecord record, string attribute) =>
        new($"NTFS MFT record {record.Number}", "attribute", "none", record.DiskOffset, $"has no unnamed {attribute} attribute");
}
