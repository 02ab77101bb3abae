using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Formats.Tests.ImageFormat;

public sealed class ImageDamageTests
{
    private readonly TestImage _image = new();
    private readonly byte[] _bytes;
    private readonly IndexEntry _noiseFrame;

    public ImageDamageTests()
    {
        _bytes = _image.ToBytes();
        using var file = new ImageFile(new MemoryStream(_bytes));
        // Frames: 0 metadata, 1 used map, 2 text, 3 zeros, 4 and 5 noise (stored raw), 6 tail.
        _noiseFrame = file.Index.Entries[2];
    }

    private static DiskFormatException ReadAll(byte[] bytes) =>
        Assert.Throws<DiskFormatException>(() =>
        {
            using var reader = new ImageReader(new NonSeekableStream(new MemoryStream(bytes)));
            reader.ReadToEnd();
        });

    [Fact]
    public void FlippedByteInAFrameNamesTheFrameItsImageOffsetAndDiskRange()
    {
        byte[] damaged = (byte[])_bytes.Clone();
        damaged[_noiseFrame.ImageOffset + FrameHeader.Length + 1000] ^= 0x01;

        DiskFormatException e = ReadAll(damaged);

        Assert.Equal(4u, _noiseFrame.FrameNumber);
        Assert.StartsWith($"image frame 4 (data, disk bytes 196608..262144, image offset {_noiseFrame.ImageOffset}): raw checksum = 0x{_noiseFrame.RawChecksum:x16} at byte {_noiseFrame.ImageOffset}: does not match the frame's data (computed 0x", e.Message);
    }

    [Fact]
    public void FlippedByteInAFrameIsFoundByRandomAccessToo()
    {
        byte[] damaged = (byte[])_bytes.Clone();
        damaged[_noiseFrame.ImageOffset + FrameHeader.Length + 7] ^= 0x80;
        using var file = new ImageFile(new MemoryStream(damaged));

        var e = Assert.Throws<DiskFormatException>(() => file.ReadData(_noiseFrame, new byte[TestImage.ChunkSize]));

        Assert.Contains("image frame 4 (data, disk bytes 196608..262144", e.Message);
        Assert.Contains("does not match the frame's data", e.Message);
    }

    [Fact]
    public void FlippedByteInAFrameHeaderIsCaughtByTheHeaderChecksum()
    {
        byte[] damaged = (byte[])_bytes.Clone();
        damaged[_noiseFrame.ImageOffset + 0x12] ^= 0x04;

        DiskFormatException e = ReadAll(damaged);

        Assert.StartsWith($"image frame header at image offset {_noiseFrame.ImageOffset}: header checksum = 0x", e.Message);
        Assert.EndsWith("the frame header is damaged", e.Message);
    }

    [Fact]
    public void TruncatedImageSaysWhereItEnds()
    {
        long cut = _noiseFrame.ImageOffset + FrameHeader.Length + 100;

        DiskFormatException e = ReadAll(_bytes[..(int)cut]);

        Assert.Equal($"image: end = {cut} at byte {cut}: the image ends inside image frame 4 (data, disk bytes 196608..262144, image offset {_noiseFrame.ImageOffset}): it is truncated", e.Message);
    }

    [Fact]
    public void MissingFooterIsAnIncompleteImage()
    {
        int cut = _bytes.Length - ImageFooter.Length;

        DiskFormatException sequential = ReadAll(_bytes[..cut]);
        var random = Assert.Throws<DiskFormatException>(() => new ImageFile(new MemoryStream(_bytes[..cut])));

        Assert.Equal($"image: end = {cut} at byte {cut}: the image ends at byte {cut}, after 10 frames, with no footer: it is incomplete (capture interrupted or file truncated)", sequential.Message);
        Assert.StartsWith("image footer: magic = ", random.Message);
        Assert.EndsWith("no footer at the end of the image: the image is incomplete (capture interrupted or file truncated)", random.Message);
    }

    [Fact]
    public void DamagedHeaderIsRefusedBeforeAnyFrameIsRead()
    {
        byte[] damaged = (byte[])_bytes.Clone();
        damaged[0x20] ^= 0x01;

        var e = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(damaged)));

        Assert.StartsWith("image header: header checksum = 0x", e.Message);
        Assert.EndsWith("the header is damaged", e.Message);
    }

    [Fact]
    public void NotAnImageIsRefusedByItsMagic()
    {
        var e = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(new byte[4096])));

        Assert.Equal("image header: magic = 0000000000000000 at byte 0: not a LiveImager image (expected \"LIVEIMG\")", e.Message);
    }

    [Fact]
    public void NewerVersionIsRefusedByName()
    {
        byte[] newer = (byte[])_bytes.Clone();
        (_image.Header with { Version = 6 }).Write(newer);

        var e = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(newer)));

        Assert.Equal("image header: version = 6 at byte 8: this LiveImager reads image versions 1..5; a newer LiveImager wrote this image", e.Message);
    }

    [Fact]
    public void AnUnknownRestoreFixupIsRefusedByName()
    {
        byte[] json = (_image.Metadata with
        {
            Partitions = [_image.Metadata.Partitions[0] with { Fixups = ["defragment-the-future"] }],
        }).ToJsonBytes();

        var e = Assert.Throws<DiskFormatException>(() => ImageMetadata.Parse(json, 64));

        Assert.Equal("image metadata: partitions[0].fixups = defragment-the-future at byte 64: names a restore step this LiveImager " +
            "does not know; a newer LiveImager wrote this image", e.Message);
    }

    [Fact]
    public void DamagedMetadataIsRefusedBeforeAnyDataIsRead()
    {
        byte[] damaged = (byte[])_bytes.Clone();
        damaged[ImageHeader.Length + FrameHeader.Length + 20] ^= 0x10;

        var e = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(damaged)));

        Assert.StartsWith($"image frame 0 (metadata, image offset {ImageHeader.Length})", e.Message);
        Assert.EndsWith("the frame is damaged", e.Message);
    }

    [Fact]
    public void DamagedIndexIsRefusedByRandomAccess()
    {
        using var good = new ImageFile(new MemoryStream(_bytes));
        byte[] damaged = (byte[])_bytes.Clone();
        damaged[good.Footer.IndexOffset + FrameHeader.Length + 2] ^= 0x01;

        var e = Assert.Throws<DiskFormatException>(() => new ImageFile(new MemoryStream(damaged)));

        Assert.StartsWith($"image frame 9 (index, image offset {good.Footer.IndexOffset})", e.Message);
    }
}
