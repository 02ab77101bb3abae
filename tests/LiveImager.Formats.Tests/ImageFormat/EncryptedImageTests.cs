using System.Buffers.Binary;
using System.Text;
using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Formats.Tests.ImageFormat;

/// <summary>Version 4 images (docs/image-format.md "Encrypted images"): round trips through both readers, a wrong or
/// missing passphrase, damage and moves in each part, and no plaintext in the file.</summary>
public sealed class EncryptedImageTests
{
    private const string Secret = "correct horse battery staple";

    private static ImagePassphrase Passphrase(string text = Secret) => new(text) { NewImageKdf = KdfParameters.Minimum };

    private static (TestImage Image, byte[] Bytes) Make()
    {
        using ImagePassphrase passphrase = Passphrase();
        var image = new TestImage(passphrase: passphrase);
        using var memory = new MemoryStream();
        image.WriteTo(memory, "captured for a test: the log says secret things\n");
        return (image, memory.ToArray());
    }

    [Fact]
    public void BothReadersGiveBackEveryByte()
    {
        (TestImage image, byte[] bytes) = Make();
        using ImagePassphrase passphrase = Passphrase();
        using (var reader = new ImageReader(new NonSeekableStream(new MemoryStream(bytes)), passphrase))
        {
            Assert.True(reader.Header.IsEncrypted);
            Assert.Equal("S123", reader.Metadata.Source.Serial);
            var stored = new byte[TestImage.ChunkSize];
            var raw = new byte[TestImage.ChunkSize];
            using var decoder = new FrameDecoder();
            int frames = 0;
            while (reader.TryReadData(stored, out FrameHeader frame))
            {
                decoder.Decode(frame, stored, raw);
                Assert.Equal(image.Chunks[frame.Position], raw[..frame.RawLength]);
                frames++;
            }
            Assert.Equal(image.Chunks.Count, frames);
            Assert.Contains("secret things", reader.Log);
        }
        using var file = new ImageFile(new MemoryStream(bytes), passphrase);
        file.CheckDataFrameHeaders();
        Assert.Equal(image.Chunks.Count, file.Index.Entries.Count);
        var buffer = new byte[TestImage.ChunkSize];
        foreach (IndexEntry entry in file.Index.Entries)
        {
            file.ReadData(entry, buffer);
            Assert.Equal(image.Chunks[entry.DiskPosition], buffer[..entry.RawLength]);
        }
        Assert.Contains("secret things", file.ReadLog());
    }

    [Fact]
    public void DataFramesLeftSealedByTheReaderOpenOnAnotherThreadAndGiveBackEveryByte()
    {
        (TestImage image, byte[] bytes) = Make();
        using ImagePassphrase passphrase = Passphrase();
        using var reader = new ImageReader(new NonSeekableStream(new MemoryStream(bytes)), passphrase);
        var buffer = new byte[2 * TestImage.ChunkSize];
        var raw = new byte[TestImage.ChunkSize];
        using var decoder = new FrameDecoder();
        int frames = 0;
        while (reader.TryReadData(buffer, TestImage.ChunkSize, out FrameHeader frame, out SealedData? sealedData))
        {
            Assert.NotNull(sealedData);
            Assert.Equal(frame, sealedData.Value.Inner);
            // The reader's copy of the payload is still ciphertext; a worker's own sealer opens it.
            Thread worker = new(() =>
            {
                using FrameSealer sealer = reader.CreateSealer()!;
                sealer.OpenData(sealedData.Value, buffer.AsSpan(TestImage.ChunkSize - FrameHeader.Length, FrameHeader.Length + frame.StoredLength), TestImage.ChunkSize);
            });
            worker.Start();
            worker.Join();
            decoder.Decode(frame, buffer.AsSpan(TestImage.ChunkSize, frame.StoredLength), raw);
            Assert.Equal(image.Chunks[frame.Position], raw[..frame.RawLength]);
            frames++;
        }
        Assert.Equal(image.Chunks.Count, frames);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AFlippedByteInAFrameLeftSealedIsNamedByItsTag(bool inTheSealedHeader)
    {
        (_, byte[] bytes) = Make();
        (long offset, FrameHeader outer) = Frames(bytes).First(f => f.Outer.Type == FrameType.Data);
        // The sealed header is what the reader reads from the key stream; the payload only the worker opens.
        bytes[offset + FrameHeader.Length + (inTheSealedHeader ? 0x10 : outer.StoredLength - 30)] ^= 0x10;
        using ImagePassphrase passphrase = Passphrase();
        using var reader = new ImageReader(new MemoryStream(bytes), passphrase);
        var buffer = new byte[2 * TestImage.ChunkSize];
        var e = Assert.Throws<DiskFormatException>(() =>
        {
            while (reader.TryReadData(buffer, TestImage.ChunkSize, out FrameHeader frame, out SealedData? sealedData))
            {
                using FrameSealer sealer = reader.CreateSealer()!;
                sealer.OpenData(sealedData!.Value, buffer.AsSpan(TestImage.ChunkSize - FrameHeader.Length, FrameHeader.Length + frame.StoredLength), TestImage.ChunkSize);
            }
        });
        Assert.StartsWith($"image frame {outer.FrameNumber} (data, sealed, image offset {offset})", e.Message);
        Assert.Contains("authentication tag", e.Message);
    }

    [Fact]
    public void AWrongOrMissingPassphraseIsOneClearMessage()
    {
        (_, byte[] bytes) = Make();
        using ImagePassphrase wrong = Passphrase("Correct horse battery staple");
        var refused = Assert.Throws<ImagePassphraseException>(() => new ImageReader(new MemoryStream(bytes), wrong));
        Assert.True(refused.Refused);
        Assert.Contains("passphrase is not this image's", refused.Message);
        Assert.Throws<ImagePassphraseException>(() => new ImageFile(new MemoryStream(bytes), wrong));
        var missing = Assert.Throws<ImagePassphraseException>(() => new ImageReader(new MemoryStream(bytes)));
        Assert.False(missing.Refused);
        Assert.Contains("encrypted", missing.Message);
    }

    [Fact]
    public void TheFileHoldsNoPlaintext()
    {
        (_, byte[] bytes) = Make();
        foreach (string known in (string[])["quick brown fox", "Test Disk", "\"S123\"", "ext4 block bitmaps", "secret things", "0fc63daf"])
        {
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(known)) < 0, $"\"{known}\" is in the encrypted image");
        }
    }

    public static TheoryData<string> Parts => ["header", "key header", "wrapped key", "metadata", "frame header", "payload", "index", "footer"];

    [Theory]
    [MemberData(nameof(Parts))]
    public void AFlippedByteIsFoundAndNamed(string part)
    {
        (TestImage image, byte[] bytes) = Make();
        List<(long Offset, FrameHeader Outer)> frames = Frames(bytes);
        (long dataOffset, FrameHeader data) = frames.First(f => f.Outer.Type == FrameType.Data);
        (long indexOffset, FrameHeader index) = frames.Single(f => f.Outer.Type == FrameType.Index);
        long at = part switch
        {
            "header" => 0x20,
            "key header" => ImageHeader.Length + 0x10,
            "wrapped key" => ImageHeader.Length + 0x48,
            "metadata" => frames[0].Offset + FrameHeader.Length + 10,
            "frame header" => dataOffset + 0x1C,
            "payload" => dataOffset + FrameHeader.Length + data.StoredLength - 30,
            "index" => indexOffset + FrameHeader.Length + 5,
            _ => bytes.Length - 0x30,
        };
        bytes[at] ^= 0x10;
        using ImagePassphrase passphrase = Passphrase();
        Exception sequential = Assert.ThrowsAny<Exception>(() =>
        {
            using var reader = new ImageReader(new MemoryStream(bytes), passphrase);
            reader.ReadToEnd();
        });
        Exception random = Assert.ThrowsAny<Exception>(() =>
        {
            using var file = new ImageFile(new MemoryStream(bytes), passphrase);
            file.CheckDataFrames();
        });
        foreach (Exception e in (Exception[])[sequential, random])
        {
            Assert.True(e is DiskFormatException, $"{part}: {e}");
            string expected = part switch
            {
                "header" => "image header",
                "key header" or "wrapped key" => "image key header",
                "metadata" => "image frame 0 (metadata, sealed",
                "frame header" => $"image frame header at image offset {dataOffset}",
                "payload" => $"image frame {data.FrameNumber} (data, sealed, image offset {dataOffset})",
                "index" => $"image frame {index.FrameNumber} (index, sealed, image offset {indexOffset})",
                _ => "image footer",
            };
            Assert.Contains(expected, e.Message);
        }
        Assert.NotNull(image);
    }

    [Fact]
    public void AForgedKeyHeaderWithAGoodChecksumIsRefusedLikeAWrongPassphrase()
    {
        (_, byte[] bytes) = Make();
        Span<byte> key = bytes.AsSpan(ImageHeader.Length, ImageKeyHeader.Length);
        key[0x48] ^= 1;
        BinaryPrimitives.WriteUInt64LittleEndian(key[0x78..], ImageChecksum.Of(key[..0x78]));
        using ImagePassphrase passphrase = Passphrase();
        Assert.True(Assert.Throws<ImagePassphraseException>(() => new ImageReader(new MemoryStream(bytes), passphrase)).Refused);
    }

    [Fact]
    public void TwoSwappedFramesAreFoundEvenWithTheirNumbersRewritten()
    {
        (_, byte[] bytes) = Make();
        // The two random chunks are stored raw: frames of the same length, so a swap keeps every offset.
        var same = Frames(bytes).Where(f => f.Outer.Type == FrameType.Data).GroupBy(f => f.Outer.StoredLength).First(g => g.Count() == 2).ToList();
        (long a, FrameHeader first) = same[0];
        (long b, FrameHeader second) = same[1];
        int length = FrameHeader.Length + first.StoredLength;
        byte[] swapped = (byte[])bytes.Clone();
        bytes.AsSpan((int)a, length).CopyTo(swapped.AsSpan((int)b));
        bytes.AsSpan((int)b, length).CopyTo(swapped.AsSpan((int)a));
        using ImagePassphrase passphrase = Passphrase();
        var plain = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(swapped), passphrase).ReadToEnd());
        Assert.Contains("a frame is missing or repeated", plain.Message);
        // Renumbered with good checksums, each frame fails to open: its number is its nonce and in its associated data.
        Renumber(swapped, a, first.FrameNumber);
        Renumber(swapped, b, second.FrameNumber);
        var moved = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(swapped), passphrase).ReadToEnd());
        Assert.Contains("authentication tag", moved.Message);
        Assert.Contains($"image offset {a}", moved.Message);
        var file = Assert.Throws<DiskFormatException>(() => new ImageFile(new MemoryStream(swapped), passphrase).CheckDataFrames());
        Assert.Contains("authentication tag", file.Message);
    }

    [Fact]
    public void AFrameFromAnotherImageOfTheSameDataDoesNotOpen()
    {
        (_, byte[] one) = Make();
        (_, byte[] two) = Make();
        (long offset, FrameHeader frame) = Frames(one).First(f => f.Outer.Type == FrameType.Data);
        // The same chunk seals to the same length in both; where it starts follows the metadata frame before it, whose
        // compressed length may differ by a byte between the two images.
        (long otherOffset, FrameHeader other) = Frames(two).First(f => f.Outer.Type == FrameType.Data);
        Assert.Equal(frame.StoredLength, other.StoredLength);
        two.AsSpan((int)otherOffset, FrameHeader.Length + other.StoredLength).CopyTo(one.AsSpan((int)offset));
        using ImagePassphrase passphrase = Passphrase();
        var e = Assert.Throws<DiskFormatException>(() => new ImageReader(new MemoryStream(one), passphrase).ReadToEnd());
        Assert.Contains("authentication tag", e.Message);
    }

    [Fact]
    public void WithoutThePassphraseTheStructureIsChecked()
    {
        (TestImage image, byte[] bytes) = Make();
        SealedStructure structure = SealedStructure.Check(new MemoryStream(bytes));
        // Metadata, the used map, the data, the chunk hashes, the log and the index.
        Assert.Equal(1 + 1 + image.Chunks.Count + 3, structure.Frames);
        Assert.Equal(bytes.Length, structure.ImageBytes);
        byte[] cut = bytes[..^100];
        Assert.Throws<DiskFormatException>(() => SealedStructure.Check(new MemoryStream(cut)));
    }

    private static void Renumber(byte[] image, long offset, uint number)
    {
        Span<byte> header = image.AsSpan((int)offset, FrameHeader.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[0x08..], number);
        BinaryPrimitives.WriteUInt64LittleEndian(header[0x28..], ImageChecksum.Of(header[..0x28]));
    }

    /// <summary>Every frame's outer header, by walking the sealed lengths from the metadata frame.</summary>
    private static List<(long Offset, FrameHeader Outer)> Frames(byte[] image)
    {
        var frames = new List<(long, FrameHeader)>();
        long offset = ImageHeader.Length + ImageKeyHeader.Length;
        while (offset < image.Length - ImageFooter.Length)
        {
            FrameHeader outer = FrameHeader.Parse(image.AsSpan((int)offset, FrameHeader.Length), offset, TestImage.ChunkSize);
            frames.Add((offset, outer));
            offset += FrameHeader.Length + outer.StoredLength;
        }
        return frames;
    }
}
