namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>The logical-to-physical map of a single-device filesystem: its chunks, ascending and checked not to overlap.</summary>
/// <remarks>Only SINGLE (one stripe) and DUP (two stripes on the one device) chunks are accepted: for both, logical
/// byte L of a chunk lies at stripe.offset + (L - chunk start) in every stripe. <see cref="UnsupportedReason"/> names
/// any other chunk before a map is built from it.</remarks>
public sealed class BtrfsChunkMap
{
    private readonly BtrfsChunkItem[] _chunks;

    /// <summary>Sorts and checks <paramref name="chunks"/> (each already accepted by <see cref="UnsupportedReason"/>)
    /// for a device of <paramref name="deviceBytes"/> bytes with allocation unit <paramref name="sectorSize"/>.</summary>
    public BtrfsChunkMap(IEnumerable<BtrfsChunkItem> chunks, ulong deviceBytes, uint sectorSize)
    {
        _chunks = chunks.OrderBy(chunk => chunk.Logical).ToArray();
        foreach (var chunk in _chunks)
        {
            if (chunk.Length == 0 || chunk.Length % sectorSize != 0 || chunk.Logical % sectorSize != 0
                || chunk.Logical > ulong.MaxValue - chunk.Length)
            {
                Fail(chunk, "length", chunk.Length, BtrfsChunkItem.LengthOffset,
                    $"must be a non-zero multiple of sectorsize ({sectorSize}) starting at one");
            }
            foreach (var stripe in chunk.Stripes)
            {
                if (stripe.Offset % sectorSize != 0 || stripe.Offset > deviceBytes || chunk.Length > deviceBytes - stripe.Offset)
                {
                    Fail(chunk, "stripe offset", stripe.Offset, BtrfsChunkItem.StripesOffset + BtrfsChunkItem.StripeOffsetOffset,
                        $"its {chunk.Length} bytes must lie sector-aligned inside the device's {deviceBytes} bytes");
                }
            }
        }
        for (int i = 1; i < _chunks.Length; i++)
        {
            if (_chunks[i].Logical < _chunks[i - 1].End)
            {
                Fail(_chunks[i], "key offset", _chunks[i].Logical, 0,
                    $"overlaps the chunk at logical {_chunks[i - 1].Logical} ({_chunks[i - 1].Length} bytes)");
            }
        }
        var stripes = _chunks.SelectMany(chunk => chunk.Stripes.Select(stripe => (Stripe: stripe, Chunk: chunk)))
            .OrderBy(pair => pair.Stripe.Offset).ToArray();
        for (int i = 1; i < stripes.Length; i++)
        {
            var (previous, previousChunk) = stripes[i - 1];
            if (stripes[i].Stripe.Offset < previous.Offset + previousChunk.Length)
            {
                Fail(stripes[i].Chunk, "stripe offset", stripes[i].Stripe.Offset,
                    BtrfsChunkItem.StripesOffset + BtrfsChunkItem.StripeOffsetOffset,
                    $"overlaps on the device a stripe of the chunk at logical {previousChunk.Logical} at physical {previous.Offset}");
            }
        }
        Stripes = stripes.Select(pair => (pair.Stripe.Offset, pair.Chunk)).ToArray();
    }

    /// <summary>The chunks in logical order.</summary>
    public IReadOnlyList<BtrfsChunkItem> Chunks => _chunks;

    /// <summary>Every stripe as (physical offset, its chunk), in physical order: the device's allocated ranges.</summary>
    public IReadOnlyList<(ulong Physical, BtrfsChunkItem Chunk)> Stripes { get; }

    /// <summary>Why <paramref name="chunk"/> cannot be mapped here (a profile other than SINGLE or DUP, or a stripe on
    /// another device), or null when it can.</summary>
    public static string? UnsupportedReason(BtrfsChunkItem chunk, ulong devId)
    {
        ulong profile = chunk.Type & BtrfsChunkItem.ProfileMask;
        int expectedStripes = profile switch
        {
            0 => 1,
            BtrfsChunkItem.ProfileDup => 2,
            _ => 0,
        };
        if (expectedStripes == 0)
        {
            return $"btrfs {chunk.TypeName} chunk at logical {chunk.Logical} has profile {chunk.ProfileName}; "
                + "only single and dup chunks are mapped";
        }
        if (chunk.Stripes.Count != expectedStripes)
        {
            return $"btrfs {chunk.ProfileName} chunk at logical {chunk.Logical} has {chunk.Stripes.Count} stripes, "
                + $"not {expectedStripes}";
        }
        foreach (var stripe in chunk.Stripes)
        {
            if (stripe.DevId != devId)
            {
                return $"btrfs chunk at logical {chunk.Logical} has a stripe on device {stripe.DevId}, "
                    + $"not on this device ({devId})";
            }
        }
        return null;
    }

    /// <summary>The chunk holding all of [<paramref name="logical"/>, +<paramref name="length"/>), or null.</summary>
    public BtrfsChunkItem? Find(ulong logical, ulong length)
    {
        int low = 0;
        int high = _chunks.Length - 1;
        while (low <= high)
        {
            int middle = low + ((high - low) / 2);
            var chunk = _chunks[middle];
            if (logical < chunk.Logical)
            {
                high = middle - 1;
            }
            else if (logical >= chunk.End)
            {
                low = middle + 1;
            }
            else
            {
                return length <= chunk.End - logical ? chunk : null;
            }
        }
        return null;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(BtrfsChunkItem chunk, string field, object value, int fieldOffset, string problem) =>
        throw new DiskFormatException("btrfs chunk item", field, value, chunk.DiskOffset + fieldOffset,
            $"chunk at logical {chunk.Logical}: {problem}");
}
