using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.ImageFormat;

public sealed class SplitVolumeTests : IDisposable
{
    private const long VolumeSize = VolumeHeader.MinVolumeSize;
    private readonly ScratchDirectory _scratch = new();
    private readonly TestImage _image = new(VolumeSize);
    private readonly string _path;
    private readonly int _volumes;
    private readonly List<long> _finishedVolumeLengths = [];

    public SplitVolumeTests()
    {
        _path = _scratch.File("disk.lim");
        using var volumes = new VolumeWriterStream(n => File.Create(VolumeLayout.VolumePath(_path, n)),
            volume => _finishedVolumeLengths.Add(volume.Length), VolumeSize, _image.Header.ImageId);
        _image.WriteTo(volumes);
        _volumes = volumes.VolumeCount;
    }

    public void Dispose() => _scratch.Dispose();

    private VolumeReaderStream Open() =>
        new(n => File.Exists(VolumeLayout.VolumePath(_path, n)) ? File.OpenRead(VolumeLayout.VolumePath(_path, n)) : null,
            n => Path.GetFileName(VolumeLayout.VolumePath(_path, n)));

    [Fact]
    public void VolumesHavePredictableNamesAndSizesAndReadBackWhole()
    {
        Assert.Equal(3, _volumes);
        // Each volume is handed back whole before the next opens, and the last one by the writer's final Flush.
        Assert.Equal([VolumeSize, VolumeSize, new FileInfo(_path + ".003").Length], _finishedVolumeLengths);
        Assert.Equal(VolumeSize, new FileInfo(_path).Length);
        Assert.Equal(VolumeSize, new FileInfo(_path + ".002").Length);
        Assert.True(File.Exists(_path + ".003"));
        Assert.False(File.Exists(_path + ".004"));

        using var file = new ImageFile(Open());
        Assert.Equal(3, file.Footer.VolumeCount);
        var raw = new byte[TestImage.ChunkSize];
        foreach (IndexEntry entry in file.Index.Entries)
        {
            file.ReadData(entry, raw);
            Assert.Equal(_image.Chunks[entry.DiskPosition], raw[..entry.RawLength]);
        }
        using var reader = new ImageReader(Open());
        Assert.Equal(5, reader.ReadToEnd());
    }

    [Fact]
    public void MissingMiddleVolumeIsNamed()
    {
        File.Delete(_path + ".002");

        var e = Assert.Throws<DiskFormatException>(Open);

        Assert.Equal("image volumes: disk.lim.002 is missing, but disk.lim.003 exists", e.Message);
    }

    [Fact]
    public void MissingLastVolumeLeavesATruncatedImageWithoutFooter()
    {
        File.Delete(_path + ".003");

        var sequential = Assert.Throws<DiskFormatException>(() => new ImageReader(Open()).ReadToEnd());
        var random = Assert.Throws<DiskFormatException>(() => new ImageFile(Open()));

        // The last volume left is full, so nothing tells a missing last volume from a truncated image but the footer.
        Assert.StartsWith($"image: end = {2 * VolumeSize - VolumeHeader.Length} at byte {2 * VolumeSize - VolumeHeader.Length}: the image ends inside ", sequential.Message);
        Assert.EndsWith("it is truncated", sequential.Message);
        Assert.EndsWith("no footer at the end of the image: the image is incomplete (capture interrupted or file truncated)", random.Message);
    }

    [Fact]
    public void SwappedVolumesAreNamed()
    {
        File.Move(_path + ".002", _path + ".tmp");
        File.Move(_path + ".003", _path + ".002");
        File.Move(_path + ".tmp", _path + ".003");

        var e = Assert.Throws<DiskFormatException>(Open);

        Assert.Equal("volume header of disk.lim.002: volume number = 3 at byte 12: expected volume 2: the volume files are swapped or renamed", e.Message);
    }

    [Fact]
    public void VolumeOfAnotherImageIsNamed()
    {
        var other = new TestImage(VolumeSize);
        string otherPath = _scratch.File("other.lim");
        using (var volumes = new VolumeWriterStream(n => File.Create(VolumeLayout.VolumePath(otherPath, n)), _ => { }, VolumeSize, other.Header.ImageId))
        {
            other.WriteTo(volumes);
        }
        File.Copy(otherPath + ".003", _path + ".003", overwrite: true);

        var e = Assert.Throws<DiskFormatException>(Open);

        Assert.Equal($"volume header of disk.lim.003: image id = {other.Header.ImageId} at byte 16: belongs to another image (this image's id is {_image.Header.ImageId})", e.Message);
    }
}
