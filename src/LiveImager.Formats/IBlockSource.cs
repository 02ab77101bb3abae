namespace LiveImager.Formats;

/// <summary>Random read access to a disk, a partition or an image file, as the pure parsers see it.</summary>
/// <remarks>Formats never opens a device: the Engine hands it a source. A read that does not fit inside
/// <see cref="Length"/> throws <see cref="DiskFormatException"/>, because it can only come from metadata that points
/// outside the device.</remarks>
public interface IBlockSource
{
    /// <summary>Size in bytes.</summary>
    long Length { get; }

    /// <summary>Fills <paramref name="destination"/> with the bytes at <paramref name="offset"/>.</summary>
    void ReadAt(long offset, Span<byte> destination);
}

/// <summary>Checks shared by every <see cref="IBlockSource"/>.</summary>
public static class BlockSourceExtensions
{
    /// <summary>Throws the domain exception when [offset, offset+count) is not inside a source of <paramref name="length"/> bytes.</summary>
    public static void CheckRange(long length, long offset, long count)
    {
        if (offset < 0 || count < 0 || offset > length || count > length - offset)
        {
            throw new DiskFormatException("device", "read range", $"{offset}+{count}", offset,
                $"lies outside the {length}-byte device");
        }
    }

    /// <summary>A view of <paramref name="length"/> bytes of <paramref name="source"/> starting at <paramref name="offset"/>.</summary>
    public static IBlockSource Slice(this IBlockSource source, long offset, long length)
    {
        CheckRange(source.Length, offset, length);
        return new BlockSourceSlice(source, offset, length);
    }

    private sealed class BlockSourceSlice(IBlockSource inner, long start, long length) : IBlockSource
    {
        public long Length => length;

        public void ReadAt(long offset, Span<byte> destination)
        {
            CheckRange(length, offset, destination.Length);
            inner.ReadAt(start + offset, destination);
        }
    }
}
