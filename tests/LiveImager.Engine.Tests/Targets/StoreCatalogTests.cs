using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Engine.Tests.Imaging;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>Listing a directory of real images: complete, split, cut short, unfinished and not images at all.</summary>
public sealed class StoreCatalogTests : IDisposable
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
        File.WriteAllText(Path.Combine(store, "notes.txt"), "not an image");

        IReadOnlyList<StoredImage> images = StoreCatalog.List(store);

        Assert.Equal(["a-whole.lim", "b-split.lim", "c-cut.lim", "d-unfinished.lim.partial"], images.Select(i => i.Name));
        StoredImage a = images[0];
        Assert.True(a.Complete, a.Problem);
        Assert.Null(a.Problem);
        Assert.Equal(whole.ImageBytes, a.SizeBytes);
        Assert.Equal(1, a.Volumes);
        Assert.Equal(disk.Path, a.Metadata!.Source.Path);
        Assert.Equal(TestDisk.DiskBytes, a.Metadata.Source.SizeBytes);
        Assert.Equal(4, a.Metadata.Partitions.Count);
        Assert.Equal(whole.DataBytes, a.Metadata.DataBytes);
        StoredImage b = images[1];
        Assert.True(b.Complete, b.Problem);
        Assert.True(b.Volumes > 1);
        Assert.Equal(Directory.GetFiles(store, "b-split.lim*").Sum(f => new FileInfo(f).Length), b.SizeBytes);
        Assert.False(images[2].Complete);
        Assert.Equal("no footer: the capture did not finish", images[2].Problem);
        Assert.NotNull(images[2].Metadata);
        Assert.False(images[3].Complete);
        Assert.Equal("no footer: the capture did not finish", images[3].Problem);
    }

    [Fact]
    public void AnEmptyDirectoryHasNoImagesAndSomeFreeSpace()
    {
        using MountedStore store = new StoreMounter(new StoreOptions()).Mount(StoreLocation.Parse(_scratch.Path));

        StoreListing listing = StoreCatalog.List(store);

        Assert.Empty(listing.Images);
        Assert.True(listing.FreeBytes > 0);
        Assert.Null(store.MountPoint);
    }

    [Fact]
    public void AMissingLocalDirectoryIsNotFound()
    {
        var e = Assert.Throws<StoreException>(() => new StoreMounter(new StoreOptions()).Mount(StoreLocation.Parse(_scratch.File("nope"))));

        Assert.Equal(StoreProblem.NotFound, e.Problem);
        Assert.Equal($"the directory {_scratch.File("nope")} does not exist", e.Message);
    }
}
