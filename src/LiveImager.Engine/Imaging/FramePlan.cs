namespace LiveImager.Engine.Imaging;

/// <summary>One data frame to capture: an aligned read of disk bytes, with the unused gaps inside it to zero.</summary>
/// <param name="Position">Disk offset, a multiple of the device's alignment.</param>
/// <param name="Length">Bytes to read; never crosses a multiple of the chunk size.</param>
/// <param name="Gaps">Unused (offset from <see cref="Position"/>, length) ranges inside the frame, zeroed after the read so
/// the image holds no stale data and they compress to nothing.</param>
public sealed record FramePlan(long Position, int Length, IReadOnlyList<(int Offset, int Length)> Gaps)
{
    /// <summary>Cuts ascending, non-overlapping byte runs into frames: each run widened to the alignment, runs closer
    /// than <paramref name="maxGap"/> joined into one read, and nothing crossing a chunk boundary.</summary>
    /// <remarks>Joining small gaps turns a fragmented filesystem's many small runs into few large reads; the gaps are
    /// zeroed, so the image stays as small as the used bytes (DESIGN.md: coalesce used ranges into large aligned reads).</remarks>
    public static IEnumerable<FramePlan> Cut(IEnumerable<(long Start, long Length)> runs, long diskBytes, int chunkSize, int alignment, int maxGap)
    {
        long frameStart = -1;
        long frameEnd = -1;
        List<(int, int)> gaps = [];
        foreach (var (start, length) in runs)
        {
            if (length <= 0)
            {
                continue;
            }
            long position = start / alignment * alignment;
            long end = Math.Min(diskBytes, (start + length + alignment - 1) / alignment * alignment);
            while (position < end)
            {
                long chunkEnd = (position / chunkSize + 1) * chunkSize;
                long pieceEnd = Math.Min(end, chunkEnd);
                bool sameChunk = frameStart >= 0 && frameStart / chunkSize == position / chunkSize;
                if (sameChunk && position - frameEnd < maxGap)
                {
                    if (position > frameEnd)
                    {
                        gaps.Add(((int)(frameEnd - frameStart), (int)(position - frameEnd)));
                    }
                    frameEnd = Math.Max(frameEnd, pieceEnd);
                }
                else
                {
                    if (frameStart >= 0)
                    {
                        yield return new FramePlan(frameStart, (int)(frameEnd - frameStart), gaps);
                        gaps = [];
                    }
                    frameStart = position;
                    frameEnd = pieceEnd;
                }
                position = pieceEnd;
            }
        }
        if (frameStart >= 0)
        {
            yield return new FramePlan(frameStart, (int)(frameEnd - frameStart), gaps);
        }
    }
}
