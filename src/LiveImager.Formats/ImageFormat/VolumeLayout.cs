namespace LiveImager.Formats.ImageFormat;

/// <summary>Where the logical image's bytes lie in volume files, and what the volumes are called.</summary>
/// <remarks>Volume 1 holds the first <c>volumeSize</c> logical bytes; every later volume a <see cref="VolumeHeader"/>
/// and the next <c>volumeSize − 64</c> (docs/image-format.md, Volumes).</remarks>
public static class VolumeLayout
{
    /// <summary>The file name of volume <paramref name="number"/> of the image named <paramref name="imagePath"/>.</summary>
    public static string VolumePath(string imagePath, int number) =>
        number == 1 ? imagePath : $"{imagePath}.{number:D3}";

    /// <summary>Image offset of volume <paramref name="number"/>'s first logical byte.</summary>
    public static long LogicalStart(int number, long volumeSize) =>
        number == 1 ? 0 : volumeSize + (number - 2) * (volumeSize - VolumeHeader.Length);

    /// <summary>Logical bytes volume <paramref name="number"/> holds when full.</summary>
    public static long LogicalCapacity(int number, long volumeSize) =>
        number == 1 ? volumeSize : volumeSize - VolumeHeader.Length;

    /// <summary>The volume that holds image offset <paramref name="logicalOffset"/>.</summary>
    public static int VolumeOf(long logicalOffset, long volumeSize) =>
        logicalOffset < volumeSize ? 1 : 2 + (int)((logicalOffset - volumeSize) / (volumeSize - VolumeHeader.Length));

    /// <summary>Volumes an image of <paramref name="logicalLength"/> bytes needs.</summary>
    public static int VolumeCount(long logicalLength, long volumeSize) =>
        volumeSize == 0 || logicalLength <= volumeSize ? 1 : VolumeOf(logicalLength - 1, volumeSize);
}
