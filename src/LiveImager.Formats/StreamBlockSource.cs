namespace LiveImager.Formats;

/// <summary>An <see cref="IBlockSource"/> over a seekable stream, such as a disk image file opened by the caller.</summary>
/// <param name="length">The source's size; a block device's stream reports 0, so its caller passes the size it knows.</param>
public sealed class StreamBlockSource(Stream stream, long length) : IBlockSource
{
    public StreamBlockSource(Stream stream) : this(stream, stream.Length)
    {
    }

    public long Length { get; } = length;

    public void ReadAt(long offset, Span<byte> destination)
    {
        BlockSourceExtensions.CheckRange(Length, offset, destination.Length);
        stream.Position = offset;
        stream.ReadExactly(destination);
    }
}
