namespace LiveImager.Engine.Devices;

/// <summary>How <see cref="BlockDevice.Zero"/> made a range read as zeros.</summary>
public enum ZeroMethod
{
    /// <summary>Nothing to do: an empty range.</summary>
    None,

    /// <summary>BLKZEROOUT: the kernel zeroes the range, with the device's WRITE ZEROES command where it has one.</summary>
    ZeroOut,

    /// <summary>fallocate(PUNCH_HOLE | KEEP_SIZE) on a file: the range is deallocated and reads as zeros.</summary>
    PunchHole,

    /// <summary>Zeros written from an aligned buffer: the fallback when neither call is supported.</summary>
    Written,
}
