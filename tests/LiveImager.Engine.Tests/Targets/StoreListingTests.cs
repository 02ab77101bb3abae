using LiveImager.Engine.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>A store's listing: its images (<see cref="LiveImager.Engine.Imaging.ImageCatalog"/>) and its free space.</summary>
public sealed class StoreListingTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void AnEmptyDirectoryHasNoImagesAndSomeFreeSpace()
    {
        using MountedStore store = new StoreMounter(new StoreOptions()).Mount(StoreLocation.Parse(_scratch.Path));

        StoreListing listing = StoreListing.Of(store);

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
