namespace LiveImager.Engine.Imaging;

/// <summary>Where a long imaging job stands: bytes done of total, rate, time left, and the partition being copied.</summary>
/// <param name="Phase">"capture", "restore" or "verify".</param>
/// <param name="CurrentPartition">The partition number the last bytes belonged to; 0 outside partitions.</param>
/// <param name="Targets">For a restore, each target in the order given, refused ones included; null for other jobs.</param>
/// <param name="BadAreas">For a rescue capture, the unreadable areas found so far, and their bytes in
/// <paramref name="UnreadableBytes"/>; 0 otherwise.</param>
/// <param name="Step">What the job does while it copies no bytes, shown as a line instead of a bar that would stand
/// still ("shrinking partition 3 (ext4) with resize2fs"); null while bytes are copied.</param>
public sealed record ImagingProgress(string Phase, long BytesDone, long BytesTotal, double BytesPerSecond, TimeSpan? Remaining,
    int CurrentPartition, TimeSpan Elapsed, IReadOnlyList<RestoreTargetProgress>? Targets = null, int BadAreas = 0, long UnreadableBytes = 0,
    string? Step = null)
{
    public double Fraction => BytesTotal <= 0 ? 1 : Math.Min(1, (double)BytesDone / BytesTotal);
}
