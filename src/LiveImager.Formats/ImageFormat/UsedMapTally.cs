using System.Numerics;

namespace LiveImager.Formats.ImageFormat;

/// <summary>Checks the used-map frames against the metadata as they are read: each frame belongs to a partition the
/// metadata names and continues that partition's bitmap where the previous frame ended; in the end every bitmap is
/// exactly as long as the partition's block count needs (every partition has one, possibly empty) and marks as many
/// blocks used as the metadata says. Used by both readers, so whatever sizes a bitmap from the metadata can rely on it.</summary>
internal sealed class UsedMapTally(ImageMetadata metadata)
{
    private readonly Dictionary<uint, long> _bytes = [];
    private readonly Dictionary<uint, long> _used = [];

    /// <summary>Checks a frame's place before its payload is read or allocated; throws when it does not fit.</summary>
    public PartitionInfo Precheck(in FrameHeader frame)
    {
        uint tag = frame.Tag;
        PartitionInfo partition = metadata.Partitions.FirstOrDefault(p => p.Number == tag)
            ?? throw new DiskFormatException(frame.Describe(), "tag", frame.Tag, frame.ImageOffset,
                $"names no partition of the image's metadata (no partition has number {tag})");
        long expected = ImageMetadata.UsedMapBytes(partition);
        long sofar = _bytes.GetValueOrDefault(tag);
        if (frame.Position != sofar || frame.RawLength > expected - sofar)
        {
            throw new DiskFormatException(frame.Describe(), "position", frame.Position, frame.ImageOffset,
                $"partition {partition.Number}'s used map must continue at byte {sofar} and hold {expected} bytes in all " +
                $"(blockCount {partition.BlockCount}): the metadata and the map disagree");
        }
        return partition;
    }

    /// <summary>Counts one used-map frame, given its checked raw bytes, and the blocks it marks used.</summary>
    public void Add(in FrameHeader frame, ReadOnlySpan<byte> bitmap)
    {
        PartitionInfo partition = Precheck(frame);
        long bits = Math.Min(bitmap.Length * 8L, partition.BlockCount - frame.Position * 8);
        int whole = (int)(bits / 8);
        long used = 0;
        foreach (byte b in bitmap[..whole])
        {
            used += BitOperations.PopCount(b);
        }
        if (bits % 8 != 0)
        {
            used += BitOperations.PopCount((uint)(bitmap[whole] & ((1 << (int)(bits % 8)) - 1)));
        }
        _bytes[frame.Tag] = frame.Position + bitmap.Length;
        _used[frame.Tag] = _used.GetValueOrDefault(frame.Tag) + used;
    }

    /// <summary>Throws unless every partition's map was read whole and agrees with usedBlocks; called at the first
    /// frame after the maps (<paramref name="imageOffset"/>, for the message).</summary>
    public void Complete(long imageOffset)
    {
        foreach (PartitionInfo partition in metadata.Partitions)
        {
            long expected = ImageMetadata.UsedMapBytes(partition);
            long read = _bytes.GetValueOrDefault((uint)partition.Number);
            if (read != expected)
            {
                throw new DiskFormatException("image metadata", $"partition {partition.Number} blockCount", partition.BlockCount, imageOffset,
                    $"needs a {expected}-byte used map, but the image holds {read} bytes of it: the metadata and the map disagree");
            }
            long used = _used.GetValueOrDefault((uint)partition.Number);
            if (used != partition.UsedBlocks)
            {
                throw new DiskFormatException("image metadata", $"partition {partition.Number} usedBlocks", partition.UsedBlocks, imageOffset,
                    $"the partition's used map marks {used} blocks used: the metadata and the map disagree");
            }
        }
    }
}
