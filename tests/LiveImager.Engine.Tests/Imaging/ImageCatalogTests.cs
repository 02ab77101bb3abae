using LiveImager.Engine.Imaging;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>The one image list (<c>images</c> and the TUI): real images complete, split, cut short, unfinished,
/// damaged and not images at all, each listed once and marked the same way.</summary>
public sealed class ImageCatalogTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void ListsImagesWithTheirMetadataAndWhetherTheyAreComplete()
    {
        TestDisk disk = TestDisk.Create(_scratch, "dos");
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        CaptureResult whole = new CaptureJob(new CaptureOptions(disk.Path, Path.Combine(store, "a-whole.lim"))).Run(CancellationToken.None);
        new CaptureJob(new CaptureOptions(disk.Path, Path.Combine(store, "b-split.lim"), SplitBytes: 4L << 20)).Run(CancellationToken.None);
        byte[] bytes = File.ReadAllBytes(Path.Combine(store, "a-whole.lim"));
        File.WriteAllBytes(Path.Combine(store, "c-cut.lim"), bytes[..(bytes.Length / 2)]);
        File.WriteAllBytes(Path.Combine(store, "d-unfinished.lim.partial"), bytes[..(bytes.Length - 100)]);
        File.WriteAllBytes(Path.Combine(store, "e-header-only.lim"), bytes[..ImageHeader.Length]);
        File.WriteAllText(Path.Combine(store, "notes.txt"), "not an image");

        IReadOnlyList<StoredImage> images = ImageCatalog.List(store);

        Assert.Equal(["a-whole.lim", "b-split.lim", "c-cut.lim", "d-unfinished.lim.partial", "e-header-only.lim"], images.Select(i => i.Name));
        StoredImage a = images[0];
        Assert.True(a.Restorable, a.Problem);
        Assert.Null(a.Problem);
        Assert.Equal(Path.Combine(store, "a-whole.lim"), a.Path);
        Assert.Equal(whole.ImageBytes, a.SizeBytes);
        Assert.Equal(1, a.Volumes);
        Assert.Equal(disk.Path, a.Metadata!.Source.Path);
        Assert.Equal(TestDisk.DiskBytes, a.Metadata.Source.SizeBytes);
        Assert.Equal(4, a.Metadata.Partitions.Count);
        Assert.Equal(whole.DataBytes, a.Metadata.DataBytes);
        StoredImage b = images[1];
        Assert.True(b.Restorable, b.Problem);
        Assert.True(b.Volumes > 1);
        Assert.Equal(Directory.GetFiles(store, "b-split.lim*").Length, b.Volumes);
        Assert.Equal(Directory.GetFiles(store, "b-split.lim*").Sum(f => new FileInfo(f).Length), b.SizeBytes);
        // Cut short and unfinished: the metadata still reads, but neither is offered as whole.
        Assert.False(images[2].Restorable);
        Assert.Equal("no footer: the capture did not finish", images[2].Problem);
        Assert.Equal(a.Metadata.DataBytes, images[2].Metadata!.DataBytes);
        Assert.False(images[3].Restorable);
        Assert.Equal("no footer: the capture did not finish", images[3].Problem);
        // A header with nothing after it: listed, with why it cannot be read.
        Assert.False(images[4].Restorable);
        Assert.Null(images[4].Metadata);
        Assert.Contains("after 0 frames, with no footer: it is incomplete", images[4].Problem);
    }
}
