using LiveImager.Tui;

namespace LiveImager.Tui.Tests.Support;

/// <summary>An image catalog that lists the images a test gives it, for any store: the restore screens' input.</summary>
internal sealed class ListedImages(params ImageSummary[] images) : IImageCatalog
{
    public static ImageSummary LaptopImage(string store) => new(
        "Samsung-SSD-860_S3Z9NB0K123456_2026-11-20", Path.Combine(store, "Samsung-SSD-860_S3Z9NB0K123456_2026-11-20"),
        "Samsung SSD 860", "S3Z9NB0K123456", 500_107_862_016, 120_570_000_000, 41_000_000_000,
        new DateTimeOffset(2026, 11, 20, 14, 5, 0, TimeSpan.Zero), ["1 vfat 536.9 MB", "2 ext4 499.6 GB"]);

    public Task<IReadOnlyList<ImageSummary>> ListAsync(string storePath, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ImageSummary>>(images);

    /// <summary>The listed images carry their details already, as an unlocked image does.</summary>
    public Task<ImageSummary> UnlockAsync(ImageSummary image, LiveImager.Formats.ImageFormat.ImagePassphrase passphrase, CancellationToken cancellationToken) =>
        Task.FromResult(image);
}
