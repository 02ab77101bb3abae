using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Formats.Tests.ImageFormat;

/// <summary>Version 5's chunk hashes and an incremental image's reference frames, read back by both readers, and the
/// forgeries they refuse (image-format.md "Incremental images").</summary>
public sealed class IncrementalFormatTests
{
    /// <summary>An incremental image of <see cref="TestImage"/>'s disk: every chunk a reference but the first.</summary>
    private static (byte[] Bytes, ImageHeader Header) Incremental(TestImage full, string baseName = "full.lim")
    {
        var header = full.Header with { ImageId = Guid.NewGuid(), Flags = ImageHeaderFlags.Incremental };
        ImageMetadata metadata = full.Metadata with
        {
            Base = new BaseImage { ImageId = full.Header.ImageId, Name = baseName, CreatedUtc = full.Metadata.CreatedUtc },
        };
        using var output = new MemoryStream();
        using (var writer = new ImageWriter(output, header))
        using (var encoder = new FrameEncoder(3))
        {
            writer.WriteMetadata(metadata, encoder);
            writer.WriteUsedMap(1, full.UsedMap, encoder);
            var stored = new byte[TestImage.ChunkSize];
            bool first = true;
            foreach (var (position, raw) in full.Chunks)
            {
                EncodedPayload payload = encoder.Encode(raw, stored);
                if (first)
                {
                    writer.WriteData(position, payload, stored);
                    first = false;
                }
                else
                {
                    writer.WriteReference(position, payload with { Encoding = FrameEncoding.Reference, StoredLength = 0 });
                }
            }
            writer.Finish("incremental for a test\n", encoder);
        }
        return (output.ToArray(), header);
    }

    [Fact]
    public void EveryImageHoldsOneContentHashPerDataFrame()
    {
        var image = new TestImage();
        using var file = new ImageFile(new MemoryStream(image.ToBytes()));

        Assert.Equal(ImageHeader.CurrentVersion, file.Header.Version);
        Assert.NotNull(file.Hashes);
        Assert.Equal(image.Chunks.Values.Select(c => ImageChecksum.ContentHashOf(c)), file.Hashes!.Hashes);
        using var reader = new ImageReader(new MemoryStream(image.ToBytes()));
        reader.ReadToEnd();
        Assert.Equal(file.Hashes.Hashes, reader.Hashes!.Hashes);
    }

    [Fact]
    public void ReferenceFramesAreReadAsSuchAndCannotBeDecodedWithoutTheBase()
    {
        var full = new TestImage();
        (byte[] bytes, ImageHeader header) = Incremental(full);
        using var file = new ImageFile(new MemoryStream(bytes));

        Assert.True(file.Header.IsIncremental);
        Assert.Equal("full.lim", file.Metadata.Base!.Name);
        IndexEntry second = file.Index.Entries[1];
        FrameHeader frame = file.ReadDataHeader(second);
        Assert.Equal(FrameEncoding.Reference, frame.Encoding);
        Assert.Equal(0, frame.StoredLength);
        Assert.Equal(ImageChecksum.Of(full.Chunks[second.DiskPosition]), frame.RawChecksum);
        var error = Assert.Throws<DiskFormatException>(() => file.ReadData(second, new byte[TestImage.ChunkSize]));
        Assert.Contains("they are in the base image", error.Message);
        Assert.Equal(header.ImageId, file.Footer.ImageId);
    }

    [Fact]
    public void AWriterRefusesReferencesInAFullImageAndAnEncryptedIncrementalOne()
    {
        var image = new TestImage();
        var writer = new ImageWriter(new MemoryStream(), image.Header);
        using var encoder = new FrameEncoder(1);
        writer.WriteMetadata(image.Metadata, encoder);
        EncodedPayload payload = encoder.Encode(new byte[4096], new byte[4096]) with { Encoding = FrameEncoding.Reference };

        Assert.Throws<InvalidOperationException>(() => writer.WriteReference(8192, payload));
        Assert.Throws<InvalidOperationException>(() => writer.WriteData(8192, payload, []));
        Assert.Throws<InvalidOperationException>(() =>
            new ImageWriter(new MemoryStream(), image.Header with { Flags = ImageHeaderFlags.Incremental | ImageHeaderFlags.Encrypted }));
    }

    [Theory]
    [InlineData("../elsewhere.lim")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("")]
    public void ABaseNameThatLeavesTheFolderIsRefused(string name)
    {
        (byte[] bytes, _) = Incremental(new TestImage(), name);

        var error = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(bytes)));
        Assert.Contains("base.name", error.Message);
    }

    [Fact]
    public void AnIncrementalFlagWithoutABaseAndABaseWithoutTheFlagAreRefused()
    {
        var full = new TestImage();
        (byte[] bytes, _) = Incremental(full);
        // The header's flag cleared (its checksum rewritten): the metadata still names a base.
        byte[] forged = (byte[])bytes.Clone();
        var header = ImageHeader.Parse(forged.AsSpan(0, ImageHeader.Length)) with { Flags = ImageHeaderFlags.None };
        header.Write(forged);

        var error = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(forged)));
        Assert.Contains("only an incremental image names a base image", error.Message);
        var noBase = full.Header with { Flags = ImageHeaderFlags.Incremental };
        byte[] flagged = full.ToBytes();
        noBase.Write(flagged);
        error = Assert.Throws<DiskFormatException>(() => new ImageFile(new MemoryStream(flagged)));
        Assert.Contains("an incremental image must name its base image", error.Message);
    }
}
