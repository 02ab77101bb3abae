namespace LiveImager.Formats;

/// <summary>An <see cref="IBlockSource"/> over a seekable stream, such as a disk image file opened by the caller.</summary>
public sealed class StreamBlockSource(Stream stream) : IBlockSource
{
    public long Length { get; } = stream.Length;

    public void ReadAt(long offset, Span<byte> destination)
    {
        BlockSourceExtensions.CheckRange(Length, offset, destination.Length);
        stream.Position = offset;
        stream.ReadExactly(destination);
    }
}
