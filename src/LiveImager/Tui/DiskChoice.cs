namespace LiveImager.Tui;

/// <summary>One disk as the pickers show it; filled from the Engine's disk record by the <see cref="IDiskSource"/>.</summary>
internal sealed record DiskChoice(
    string Name,
    string Path,
    long SizeBytes,
    string Model,
    string Serial,
    string Transport,
    IReadOnlyList<PartitionChoice> Partitions,
    string? InUseReason,
    bool IsBootMedium)
{
    /// <summary>Why this disk may not be chosen for capture or restore, or null when it may.</summary>
    public string? Refusal => IsBootMedium ? "the live system booted from it" : InUseReason;
}

/// <summary>One partition of a <see cref="DiskChoice"/>; used bytes are null when the filesystem is not understood.</summary>
internal sealed record PartitionChoice(string Name, string FileSystem, long SizeBytes, long? UsedBytes);
