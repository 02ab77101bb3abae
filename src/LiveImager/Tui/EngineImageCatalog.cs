using System.Globalization;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Tui;

/// <summary>The images of a store for the restore wizard, read by the Engine's catalog: header, metadata and footer
/// only; incomplete and damaged images are listed with their problem, as <c>liveimager images</c> lists them.</summary>
internal sealed class EngineImageCatalog : IImageCatalog
{
    public Task<IReadOnlyList<ImageSummary>> ListAsync(string storePath, CancellationToken cancellationToken) => Task.Run(() =>
        (IReadOnlyList<ImageSummary>)[.. (S3Store.FindDirectory(storePath) is { } objects
                ? objects.List(cancellationToken).Images
                : ImageCatalog.List(storePath, cancellationToken)).Select(ToSummary)
            .OrderBy(i => i.Problem is not null).ThenByDescending(i => i.Created)], cancellationToken);

    public Task<ImageSummary> UnlockAsync(ImageSummary image, ImagePassphrase passphrase, CancellationToken cancellationToken) =>
        Task.Run(() => ToSummary(ImageCatalog.Unlock(image.Path, passphrase)), cancellationToken);

    private static ImageSummary ToSummary(StoredImage image) => new(
        image.Format == "clonezilla" ? $"{image.Name} [Clonezilla]" : image.Encrypted ? $"{image.Name} [encrypted]" : image.Name,
        image.Path,
        image.Metadata?.Source.Model ?? "unknown model",
        image.Metadata?.Source.Serial ?? "unknown",
        image.Metadata?.Source.SizeBytes ?? 0,
        image.Metadata?.RequiredTargetBytes ?? 0,
        image.SizeBytes,
        image.Metadata?.CreatedUtc ?? DateTimeOffset.MinValue,
        [.. (image.Metadata?.Partitions ?? []).Select(p =>
            $"{p.Number.ToString(CultureInfo.InvariantCulture)} {p.Filesystem} {ByteSize.Format(p.SizeBytes)}")])
    {
        // A complete encrypted image is offered: its metadata reads once the wizard has its passphrase.
        Problem = image.Restorable || (image.Encrypted && image.Complete) ? null : image.Problem ?? "its metadata cannot be read",
        Encrypted = image.Encrypted,
        BaseName = image.Metadata?.Base?.Name,
        // --fit opens the image in place, unencrypted, through the serve verb: a file of a mounted store.
        Fit = image.Format == "liveimager" && !image.Encrypted && S3Store.Find(image.Path) is null && image.Metadata is { } metadata
            && FitRestoreJob.TableKind(metadata) is { } table
            ? new FitDisk(table, FitRestoreJob.Sources(metadata))
            : null,
    };
}
