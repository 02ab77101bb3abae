using System.Diagnostics;
using LiveImager.Engine.Devices;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>How a capture meets unreadable sectors with <c>--rescue</c>: a failed read is tried again in pieces, then
/// sector by sector, each sector <see cref="Retries"/> more times; after <see cref="SkipAfterFailures"/> failed sectors
/// in a row the rest of the piece is skipped (recorded unreadable, not read), and once a frame has spent
/// <see cref="AreaTimeLimit"/> on failures the rest of that frame is skipped, as ddrescue's first pass does, so a disk
/// with a bad region finishes in bounded time.</summary>
public sealed record RescuePolicy(int Retries = 1, int SkipAfterFailures = 8, int PieceBytes = 64 * 1024, TimeSpan? AreaTimeLimit = null)
{
    /// <summary>The time a frame may spend on failing reads before the rest of it is skipped.</summary>
    public TimeSpan TimeLimit => AreaTimeLimit ?? TimeSpan.FromSeconds(30);
}

/// <summary>A sector the disk would not give back, with where it lies, as the capture without <c>--rescue</c> reports it.</summary>
public sealed class UnreadableSectorException(string message, long position, Exception inner) : ImagingException(message, inner)
{
    /// <summary>The disk byte offset of the first sector that could not be read.</summary>
    public long Position { get; } = position;
}

/// <summary>Reads a frame's bytes from a disk that may fail. The whole span is read at once; only when that fails with
/// a medium error (EIO, ENODATA) is it read again in <see cref="RescuePolicy.PieceBytes"/> pieces, and a failing piece
/// sector by sector. Sectors inside the frame's unused gaps are never read again: their bytes are zeros in the image
/// whatever the disk holds, so an unreadable sector in free space is no error. Without a policy the first unreadable
/// used sector stops the capture with its position; with one, unreadable sectors become zeros and join
/// <see cref="BadRanges"/>.</summary>
internal sealed class RescueReader(BlockDevice source, RescuePolicy? policy, Func<long, string> describePosition)
{
    private const int EIO = 5;
    private const int ENODATA = 61;

    /// <summary>The unreadable ranges found so far (with a policy).</summary>
    public BadRangeList BadRanges { get; } = new();

    /// <summary>Fills <paramref name="buffer"/>'s first <paramref name="alignedLength"/> bytes from
    /// <paramref name="plan"/>'s position; returns the bytes read (fewer only at the device's end).</summary>
    public int Read(FramePlan plan, Span<byte> buffer, int alignedLength)
    {
        try
        {
            return source.ReadAligned(plan.Position, buffer[..alignedLength]);
        }
        catch (DeviceIoException e) when (IsMediumError(e))
        {
            int readable = (int)Math.Min(alignedLength, RoundUp(source.Length - plan.Position, source.LogicalSectorSize));
            ReadInPieces(plan, buffer[..readable], e);
            buffer[readable..alignedLength].Clear();
            return readable;
        }
    }

    private void ReadInPieces(FramePlan plan, Span<byte> buffer, DeviceIoException first)
    {
        int sector = source.LogicalSectorSize;
        int pieceBytes = Math.Max(sector, RoundUp(policy?.PieceBytes ?? 64 * 1024, sector));
        var clock = Stopwatch.StartNew();
        for (int piece = 0; piece < buffer.Length; piece += pieceBytes)
        {
            int length = Math.Min(pieceBytes, buffer.Length - piece);
            if (InGaps(plan, piece, length))
            {
                buffer.Slice(piece, length).Clear();
                continue;
            }
            if (TryRead(plan.Position + piece, buffer.Slice(piece, length), out _))
            {
                continue;
            }
            int failedInARow = 0;
            for (int offset = piece; offset < piece + length; offset += sector)
            {
                Span<byte> bytes = buffer.Slice(offset, sector);
                if (InGaps(plan, offset, sector))
                {
                    bytes.Clear();
                    continue;
                }
                DeviceIoException? error = null;
                bool read = false;
                for (int attempt = 0; attempt <= (policy?.Retries ?? 0) && !read; attempt++)
                {
                    read = TryRead(plan.Position + offset, bytes, out error);
                }
                if (read)
                {
                    failedInARow = 0;
                    continue;
                }
                bytes.Clear();
                if (policy is null)
                {
                    long position = plan.Position + offset;
                    throw new UnreadableSectorException(
                        $"{source.Path}: sector {position / sector} (byte {position}) cannot be read, {describePosition(position)}: " +
                        $"{(error ?? first).Message}. The disk has unreadable sectors; capture again with --rescue to copy what can " +
                        "be read and record what cannot. No image was kept", position, error ?? first);
                }
                BadRanges.Add(plan.Position + offset, sector);
                failedInARow++;
                if (failedInARow >= policy.SkipAfterFailures || clock.Elapsed > policy.TimeLimit)
                {
                    // Skip ahead: the rest of this piece (or, past the time limit, of the frame) is recorded unread.
                    int end = clock.Elapsed > policy.TimeLimit ? buffer.Length : piece + length;
                    SkipUnread(plan, buffer, offset + sector, end);
                    if (end == buffer.Length)
                    {
                        return;
                    }
                    break;
                }
            }
        }
    }

    /// <summary>Records [<paramref name="from"/>, <paramref name="to"/>) of the frame unreadable without reading it,
    /// leaving its unused gaps out, and clears it.</summary>
    private void SkipUnread(FramePlan plan, Span<byte> buffer, int from, int to)
    {
        int sector = source.LogicalSectorSize;
        for (int offset = from; offset < to; offset += sector)
        {
            buffer.Slice(offset, sector).Clear();
            if (!InGaps(plan, offset, sector))
            {
                BadRanges.Add(plan.Position + offset, sector);
            }
        }
    }

    private bool TryRead(long position, Span<byte> destination, out DeviceIoException? error)
    {
        try
        {
            source.ReadAt(position, destination);
            error = null;
            return true;
        }
        catch (DeviceIoException e) when (IsMediumError(e))
        {
            error = e;
            return false;
        }
    }

    /// <summary>True when [offset, offset+length) of the frame lies wholly in its unused gaps or past its length.</summary>
    private static bool InGaps(FramePlan plan, int offset, int length)
    {
        int end = offset + length;
        int covered = Math.Max(offset, Math.Min(end, plan.Length));
        if (covered == offset)
        {
            return true;
        }
        // Gaps are sorted and apart; walk the span from its start.
        int cursor = offset;
        foreach (var (gapOffset, gapLength) in plan.Gaps)
        {
            if (gapOffset + gapLength <= cursor)
            {
                continue;
            }
            if (gapOffset > cursor)
            {
                return false;
            }
            cursor = gapOffset + gapLength;
            if (cursor >= Math.Min(end, plan.Length))
            {
                return true;
            }
        }
        return cursor >= Math.Min(end, plan.Length);
    }

    internal static bool IsMediumError(DeviceIoException e) => e.Errno is EIO or ENODATA;

    private static int RoundUp(long value, int multiple) => (int)((value + multiple - 1) / multiple * multiple);
}

/// <summary>Unreadable disk ranges found by the capture's workers, in any order; merged and sorted when read.</summary>
internal sealed class BadRangeList
{
    private readonly List<BadRange> _ranges = [];
    private long _bytes;

    /// <summary>Bytes recorded unreadable so far (for progress).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The most separate ranges a capture records (the capture record's bound, image-format.md); a disk
    /// failing in more places than that is beyond a used-block rescue.</summary>
    public const int MaxRanges = CaptureRecord.MaxBadRanges;

    public void Add(long position, long length)
    {
        lock (_ranges)
        {
            Interlocked.Add(ref _bytes, length);
            // A worker adds a frame's sectors in order: most join the range before them.
            if (_ranges.Count > 0 && _ranges[^1].End == position)
            {
                _ranges[^1] = _ranges[^1] with { Length = _ranges[^1].Length + length };
                return;
            }
            if (_ranges.Count >= MaxRanges)
            {
                IReadOnlyList<BadRange> merged = BadRange.Merge(_ranges.ToArray());
                _ranges.Clear();
                _ranges.AddRange(merged);
                if (_ranges.Count >= MaxRanges)
                {
                    throw new ImagingException($"more than {MaxRanges} separate unreadable ranges: the disk fails in too many places for a " +
                        "rescue of its used blocks; copy it whole with ddrescue first");
                }
            }
            _ranges.Add(new BadRange(position, length));
        }
    }

    /// <summary>Separate unreadable areas so far (for progress), counted as recorded.</summary>
    public int Count
    {
        get
        {
            lock (_ranges)
            {
                return _ranges.Count;
            }
        }
    }

    /// <summary>The ranges sorted and joined where they touch.</summary>
    public IReadOnlyList<BadRange> Merged()
    {
        lock (_ranges)
        {
            return BadRange.Merge(_ranges);
        }
    }
}
