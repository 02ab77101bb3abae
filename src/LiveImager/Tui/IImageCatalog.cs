namespace LiveImager.Tui;

/// <summary>The seam to the image format: the images in a store, with the details restore needs, read off the UI thread.</summary>
internal interface IImageCatalog
{
    Task<IReadOnlyList<ImageSummary>> ListAsync(string storePath, CancellationToken cancellationToken);

    /// <summary>An encrypted image with its details read under <paramref name="passphrase"/>; throws
    /// <see cref="Formats.ImageFormat.ImagePassphraseException"/> when it is not the image's.</summary>
    Task<ImageSummary> UnlockAsync(ImageSummary image, Formats.ImageFormat.ImagePassphrase passphrase, CancellationToken cancellationToken);
}

/// <summary>An image as the restore screens show it; <see cref="RequiredBytes"/> is the smallest disk it fits.
/// <see cref="Problem"/> says why an incomplete or damaged image cannot be restored (null when it can).</summary>
internal sealed record ImageSummary(
    string Name,
    string Path,
    string SourceModel,
    string SourceSerial,
    long SourceSizeBytes,
    long RequiredBytes,
    long StoredBytes,
    DateTimeOffset Created,
    IReadOnlyList<string> Partitions)
{
    public string? Problem { get; init; }

    /// <summary>True for an encrypted image: its details show once its passphrase is given.</summary>
    public bool Encrypted { get; init; }

    /// <summary>The file name of the image this one was captured on (an incremental image), or null for a full one.</summary>
    public string? BaseName { get; init; }

    /// <summary>What a <c>--fit</c> plan needs to lay the image out on a smaller disk; null for an image that cannot be
    /// restored that way (no partition table, a Clonezilla or encrypted image, an image in an s3:// store).</summary>
    public FitDisk? Fit { get; init; }
}

/// <summary>An image's partition table kind and partitions with their used bytes, as <see cref="Formats.Partitions.FitPlanner"/>
/// plans them onto a smaller disk.</summary>
internal sealed record FitDisk(Formats.Partitions.PartitionTableKind Table, IReadOnlyList<Formats.Partitions.FitSource> Partitions);
