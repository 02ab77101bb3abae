using LiveImager.Formats.FileSystems;

namespace LiveImager.Formats.Tests.Support;

/// <summary>Runs the filesystem detector on an image file, as a capture would on a partition.</summary>
public static class ImageAnalysis
{
    /// <summary>Analyses the image (or the partition of it at <paramref name="offset"/>, <paramref name="length"/> bytes).</summary>
    public static FileSystemAnalysis Analyze(string path, long offset = 0, long length = -1)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        IBlockSource source = new StreamBlockSource(stream);
        if (length >= 0)
        {
            source = source.Slice(offset, length);
        }
        return FileSystemDetector.Analyze(source);
    }
}
