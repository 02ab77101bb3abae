using LiveImager.Engine.Imaging;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>The image list of a store: header and metadata only, images only, every volume counted.</summary>
public sealed class ImageCatalogTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void ListsEachImageOnceFromItsHeaderAndMetadataAndLeavesOutEverythingElse()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string split = Path.Combine(store, "split.lim");
        new CaptureJob(new CaptureOptions(disk.Path, split, SplitBytes: 4L << 20)).Run(CancellationToken.None);
        // Only the start of an image: enough for its header and metadata, not its data, index or footer.
        string head = Path.Combine(store, "head.lim");
        using (var source = File.OpenRead(split))
        using (var copy = File.Create(head))
        {
            source.CopyTo(copy, 1 << 20);
            copy.SetLength(1 << 20);
        }
        File.WriteAllText(Path.Combine(store, "notes.txt"), "not an image");
        File.Copy(split, Path.Combine(store, "old.lim.partial"));
        File.WriteAllBytes(Path.Combine(store, "header-only.lim"), File.ReadAllBytes(split)[..ImageHeader.Length]);

        IReadOnlyList<ImageDescription> images = ImageCatalog.List(store, CancellationToken.None);

        Assert.Equal(["head.lim", "split.lim"], images.Select(i => Path.GetFileName(i.Path)).Order(StringComparer.Ordinal));
        ImageDescription whole = images.Single(i => i.Path == split);
        string[] volumes = Directory.GetFiles(store, "split.lim*");
        Assert.True(volumes.Length > 1, "the capture was to be split into volumes");
        Assert.Equal(volumes.Length, whole.Volumes);
        Assert.Equal(4, whole.Metadata.Partitions.Count);
        Assert.Equal(TestDisk.DiskBytes, whole.Metadata.Source.SizeBytes);
        Assert.Equal(images.Single(i => i.Path == head).Metadata.DataBytes, whole.Metadata.DataBytes);
        Assert.Throws<DiskFormatException>(() => ImageCatalog.Describe(Path.Combine(store, "header-only.lim")));
    }
}
