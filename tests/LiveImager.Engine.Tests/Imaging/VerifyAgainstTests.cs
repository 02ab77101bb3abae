using LiveImager.Engine.Imaging;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary><c>verify --against</c>: the used maps streamed from a second read of an image file compare exactly what
/// the maps kept from a pipe compare, and a changed used byte is found where it is.</summary>
public sealed class VerifyAgainstTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void AFileAndAPipeCompareTheSameBytes()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);

        VerifyResult fromFile = new VerifyJob(new VerifyOptions(image, Against: disk.Path)).Run(CancellationToken.None);
        VerifyResult fromPipe = new VerifyJob(new VerifyOptions("-", Against: disk.Path), () => File.OpenRead(image)).Run(CancellationToken.None);

        Assert.True(fromFile.BytesCompared > 0);
        Assert.Equal(fromPipe.BytesCompared, fromFile.BytesCompared);
        // The used bytes of the filesystems, and not the stale bytes of their free space, are what is compared.
        Assert.True(fromFile.BytesCompared < fromFile.DataBytes, $"{fromFile.BytesCompared} of {fromFile.DataBytes} bytes compared");
    }

    [SkippableFact]
    public void AChangedSuperblockByteIsFoundAtItsOffset()
    {
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk.Path, image)).Run(CancellationToken.None);
        string changed = _scratch.File("changed.img");
        File.Copy(disk.Path, changed);
        PartitionInfo ext4;
        using (var file = new ImageFile(ImageInput.OpenVolumes(image)))
        {
            ext4 = file.Metadata.Partitions.First(p => p.Filesystem == "ext4");
        }
        // ext4 superblock 0x20 s_blocks_per_group: in block 0, which the used map always marks used.
        long offset = ext4.StartBytes + 1024 + 0x20;
        using (var stream = new FileStream(changed, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = offset;
            int old = stream.ReadByte();
            stream.Position = offset;
            stream.WriteByte((byte)(old ^ 0xFF));
        }

        var error = Assert.Throws<ImagingException>(() => new VerifyJob(new VerifyOptions(image, Against: changed)).Run(CancellationToken.None));

        Assert.Contains($"differs from the image at disk byte {offset} ", error.Message);
    }
}
