namespace LiveImager.Formats.Tests.Support;

/// <summary>Reads and damages bytes of a test image file, for the corrupt-input cases.</summary>
public static class ImageBytes
{
    /// <summary>The <paramref name="count"/> bytes at <paramref name="offset"/>.</summary>
    public static byte[] Read(string image, long offset, int count)
    {
        var bytes = new byte[count];
        using var stream = File.OpenRead(image);
        stream.Position = offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Overwrites the bytes at <paramref name="offset"/> with <paramref name="bytes"/>.</summary>
    public static void Patch(string image, long offset, byte[] bytes)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Write);
        stream.Position = offset;
        stream.Write(bytes);
    }
}
