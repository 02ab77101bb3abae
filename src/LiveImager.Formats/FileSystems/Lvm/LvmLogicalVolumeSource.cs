namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>A logical volume read through the physical volume that holds all of it: its linear and striped segments
/// laid end to end, as device-mapper's linear and stripe targets would present it.</summary>
public sealed class LvmLogicalVolumeSource : IBlockSource
{
    private readonly IBlockSource _physicalVolume;
    private readonly Piece[] _pieces;

    /// <summary>A segment in bytes: where it starts in the LV, how long it is, its stripe size (its length when it has
    /// one stripe), and each stripe's byte offset on the PV.</summary>
    public sealed record Piece(long Start, long Length, long StripeBytes, long[] StripeOffsets);

    /// <param name="physicalVolume">The PV's bytes.</param>
    /// <param name="pieces">The segments, contiguous from 0, each stripe checked to lie inside the PV.</param>
    public LvmLogicalVolumeSource(IBlockSource physicalVolume, IReadOnlyList<Piece> pieces)
    {
        _physicalVolume = physicalVolume;
        _pieces = [.. pieces];
        Length = _pieces.Length == 0 ? 0 : _pieces[^1].Start + _pieces[^1].Length;
    }

    public long Length { get; }

    public void ReadAt(long offset, Span<byte> destination)
    {
        BlockSourceExtensions.CheckRange(Length, offset, destination.Length);
        int done = 0;
        foreach (var (pvOffset, length) in MapRange(offset, destination.Length))
        {
            _physicalVolume.ReadAt(pvOffset, destination.Slice(done, (int)length));
            done += (int)length;
        }
    }

    /// <summary>The PV byte ranges that hold the LV's [<paramref name="offset"/>, +<paramref name="length"/>), in the
    /// LV's order: one per segment when linear, one per stripe chunk when striped.</summary>
    public IEnumerable<(long Offset, long Length)> MapRange(long offset, long length)
    {
        BlockSourceExtensions.CheckRange(Length, offset, length);
        int index = FindPiece(offset);
        long end = offset + length;
        while (offset < end)
        {
            var piece = _pieces[index];
            long inPiece = offset - piece.Start;
            long chunk = inPiece / piece.StripeBytes;
            long inChunk = inPiece % piece.StripeBytes;
            int stripes = piece.StripeOffsets.Length;
            long pvOffset = piece.StripeOffsets[chunk % stripes] + chunk / stripes * piece.StripeBytes + inChunk;
            long take = Math.Min(Math.Min(piece.StripeBytes - inChunk, piece.Start + piece.Length - offset), end - offset);
            yield return (pvOffset, take);
            offset += take;
            if (offset == piece.Start + piece.Length)
            {
                index++;
            }
        }
    }

    private int FindPiece(long offset)
    {
        int low = 0;
        int high = _pieces.Length - 1;
        while (low < high)
        {
            int middle = (low + high + 1) / 2;
            if (_pieces[middle].Start <= offset)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }
        return low;
    }
}
