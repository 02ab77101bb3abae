namespace LiveImager.Engine.Imaging;

/// <summary>What one target of a restore is doing.</summary>
public enum RestoreTargetState
{
    /// <summary>Taking frames as the image is read.</summary>
    Writing,

    /// <summary>Every frame is written; the partition table is fixed up and the disk flushed.</summary>
    Finishing,

    /// <summary>Written and flushed.</summary>
    Done,

    /// <summary>Dropped after an error; the other targets go on.</summary>
    Failed,
}

/// <summary>Where one target of a restore stands: the image's bytes it has taken of the total, its own rate and time
/// left, and for a failed target why.</summary>
/// <param name="Error">Why the target failed, in plain words; null unless <see cref="State"/> is Failed.</param>
public sealed record RestoreTargetProgress(string Target, RestoreTargetState State, long BytesDone, long BytesTotal, double BytesPerSecond,
    TimeSpan? Remaining, string? Error)
{
    public double Fraction => BytesTotal <= 0 ? 1 : Math.Min(1, (double)BytesDone / BytesTotal);
}
