namespace LiveImager.Engine.Targets;

/// <summary>Free space in a store, and the check made before a capture writes anything.</summary>
public static class StoreSpace
{
    /// <summary>Room kept for the metadata, used-block maps and log beyond the data frames.</summary>
    public const long OverheadBytes = 16L << 20;

    /// <summary>Room per used byte for frame headers and index entries: 128 bytes per 4 MiB chunk, generously.</summary>
    private const long BytesPerFrameOverhead = 32768;

    /// <summary>Bytes available to an unprivileged writer in the filesystem holding <paramref name="directory"/> (statvfs).</summary>
    public static long FreeBytes(string directory) => new DriveInfo(directory).AvailableFreeSpace;

    /// <summary>The most an image of <paramref name="dataBytes"/> used bytes can take: the data stored as is
    /// (zstd never grows a frame beyond its raw copy) plus the frames' headers, the index and the rest.</summary>
    public static long WorstCaseImageBytes(long dataBytes) => dataBytes + dataBytes / BytesPerFrameOverhead + OverheadBytes;

    /// <summary>Throws <see cref="StoreProblem.Full"/> when an image of <paramref name="dataBytes"/> used bytes might not
    /// fit in <paramref name="directory"/>'s free space.</summary>
    public static void Require(string directory, long dataBytes)
    {
        long free = FreeBytes(directory);
        long needed = WorstCaseImageBytes(dataBytes);
        if (free < needed)
        {
            throw new StoreException(StoreProblem.Full,
                $"the store {directory} has {Megabytes(free)} free, but the image may need up to {Megabytes(needed)} " +
                $"({Megabytes(dataBytes)} of used data, stored uncompressed at worst, plus room for its index); " +
                "free some space or choose another store (--no-space-check tries anyway)");
        }
    }

    private static string Megabytes(long bytes) => $"{bytes / 1048576.0:F1} MiB";
}
