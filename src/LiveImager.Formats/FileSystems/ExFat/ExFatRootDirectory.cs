namespace LiveImager.Formats.FileSystems.ExFat;

/// <summary>The exFAT root directory: its cluster chain and the critical entries it must hold (bitmap, up-case table)
/// plus the volume label.</summary>
/// <remarks>exFAT specification sections 3.1.8 and 7. The whole chain is walked, because its clusters are themselves
/// metadata the allocation bitmap must mark used. The walk is bounded by the largest directory the spec allows and
/// stops at the first cluster seen twice, so a looped or endless chain is an error, never a hang.</remarks>
public sealed class ExFatRootDirectory
{
    /// <summary>The largest directory the spec allows (section 6.1: DataLength of a directory at most 256 MiB).</summary>
    private const long MaxDirectoryBytes = 256L << 20;

    /// <summary>Bytes read at a time from a directory cluster, which may be as large as 32 MiB.</summary>
    private const int ReadBytes = 65536;

    private const string Structure = "exfat root directory";

    private ExFatRootDirectory(IReadOnlyList<long> clusters, ExFatDirectoryEntry bitmap, long bitmapOffset,
        ExFatDirectoryEntry upcase, long upcaseOffset, string? label)
    {
        Clusters = clusters;
        Bitmap = bitmap;
        BitmapEntryOffset = bitmapOffset;
        Upcase = upcase;
        UpcaseEntryOffset = upcaseOffset;
        Label = label;
    }

    /// <summary>The root directory's clusters in chain order.</summary>
    public IReadOnlyList<long> Clusters { get; }

    /// <summary>The allocation bitmap entry (0x81).</summary>
    public ExFatDirectoryEntry Bitmap { get; }

    /// <summary>Byte offset of the allocation bitmap entry in the volume.</summary>
    public long BitmapEntryOffset { get; }

    /// <summary>The up-case table entry (0x82).</summary>
    public ExFatDirectoryEntry Upcase { get; }

    /// <summary>Byte offset of the up-case table entry in the volume.</summary>
    public long UpcaseEntryOffset { get; }

    /// <summary>The volume label, or null when the volume has none.</summary>
    public string? Label { get; }

    /// <summary>Walks the root directory of <paramref name="volume"/> and collects its critical entries.</summary>
    public static ExFatRootDirectory Read(IBlockSource volume, ExFatBootSector boot, ExFatFileAllocationTable fat)
    {
        long maxClusters = Math.Max(1, MaxDirectoryBytes / boot.ClusterBytes);
        var clusters = new List<long>();
        var seen = new HashSet<long>();
        var buffer = new byte[Math.Min(ReadBytes, boot.ClusterBytes)];
        ExFatDirectoryEntry? bitmap = null;
        ExFatDirectoryEntry? upcase = null;
        long bitmapOffset = -1;
        long upcaseOffset = -1;
        string? label = null;
        bool ended = false;
        long? cluster = boot.FirstClusterOfRootDirectory;
        while (cluster is { } current)
        {
            clusters.Add(current);
            seen.Add(current);
            long start = boot.ClusterStartBytes(current);
            for (long done = 0; !ended && done < boot.ClusterBytes; done += buffer.Length)
            {
                volume.ReadAt(start + done, buffer);
                for (int at = 0; at < buffer.Length; at += ExFatDirectoryEntry.Size)
                {
                    var entry = ExFatDirectoryEntry.Parse(buffer.AsSpan(at));
                    long offset = start + done + at;
                    if (entry.EntryType == ExFatDirectoryEntry.EndOfDirectory)
                    {
                        ended = true;
                        break;
                    }
                    switch (entry.EntryType)
                    {
                        case ExFatDirectoryEntry.AllocationBitmap when bitmap is null:
                            (bitmap, bitmapOffset) = (entry, offset);
                            break;
                        case ExFatDirectoryEntry.UpcaseTable when upcase is null:
                            (upcase, upcaseOffset) = (entry, offset);
                            break;
                        case ExFatDirectoryEntry.VolumeLabel when label is null:
                            label = entry.Label;
                            break;
                    }
                }
            }
            long? next = fat.Next(current);
            if (next is { } following && seen.Contains(following))
            {
                throw new DiskFormatException("exfat FAT", $"entry {current}", $"0x{following:X8}", fat.EntryOffset(current),
                    $"the root directory's cluster chain returns to cluster {following}: a loop");
            }
            if (next is not null && clusters.Count >= maxClusters)
            {
                throw new DiskFormatException(Structure, "cluster chain", clusters.Count, boot.ClusterStartBytes(boot.FirstClusterOfRootDirectory),
                    $"goes on past {maxClusters} clusters, the {MaxDirectoryBytes >> 20} MiB a directory may hold");
            }
            cluster = next;
        }
        if (bitmap is not { } bitmapEntry)
        {
            throw new DiskFormatException(Structure, "the allocation bitmap entry (0x81) is missing");
        }
        if (upcase is not { } upcaseEntry)
        {
            throw new DiskFormatException(Structure, "the up-case table entry (0x82) is missing");
        }
        return new ExFatRootDirectory(clusters, bitmapEntry, bitmapOffset, upcaseEntry, upcaseOffset, label);
    }
}
