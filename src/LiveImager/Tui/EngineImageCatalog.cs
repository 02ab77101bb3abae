using System.Globalization;
using LiveImager.Engine.Imaging;

namespace LiveImager.Tui;

/// <summary>The images of a store for the restore wizard, read by the Engine's catalog: header and metadata only.</summary>
internal sealed class EngineImageCatalog : IImageCatalog
{
    public Task<IReadOnlyList<ImageSummary>> ListAsync(string storePath, CancellationToken cancellationToken) => Task.Run(() =>
        (IReadOnlyList<ImageSummary>)[.. ImageCatalog.List(storePath, cancellationToken).Select(ToSummary)], cancellationToken);

    private static ImageSummary ToSummary(ImageDescription image) => new(
        Path.GetFileName(image.Path),
        image.Path,
        image.Metadata.Source.Model ?? "unknown model",
        image.Metadata.Source.Serial ?? "unknown",
        image.Metadata.Source.SizeBytes,
        image.Metadata.RequiredTargetBytes,
        image.StoredBytes,
        image.Metadata.CreatedUtc,
        [.. image.Metadata.Partitions.Select(p =>
            $"{p.Number.ToString(CultureInfo.InvariantCulture)} {p.Filesystem} {ByteCount.Format(p.SizeBytes)}")]);
}
