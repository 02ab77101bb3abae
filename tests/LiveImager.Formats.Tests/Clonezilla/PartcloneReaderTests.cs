using System.Buffers.Binary;
using LiveImager.Formats.Clonezilla;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.Clonezilla;

/// <summary>The partclone stream reader against streams the real partclone wrote (ext4 and FAT made by mkfs), streams
/// re-framed with XXH64 and XXH128 checksums computed by xxhsum (partclone in Debian 12 writes only CRC32 or none), and
/// forged headers whose every bound must refuse with a message naming the field.</summary>
public sealed class PartcloneReaderTests : IDisposable
{
    private const int HeaderLength = 0x6E;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableTheory]
    [InlineData("extfs", new string[0])]
    [InlineData("extfs", new[] { "-a", "0" })]
    [InlineData("extfs", new[] { "-k", "3", "-K" })]
    [InlineData("fat", new[] { "-k", "1" })]
    public void RealStream_EveryUsedBlockEqualsTheSource(string tool, string[] options)
    {
        var (source, stream) = MakeStream(tool, options);
        byte[] disk = File.ReadAllBytes(source);

        using var input = File.OpenRead(stream);
        var reader = new PartcloneReader(input, "p1 in test.img");
        long blocks = ReadAll(reader, disk);

        Assert.Equal(reader.Header.UsedBlocks, blocks);
        Assert.True(blocks > 0);
        Assert.Equal(-1, input.ReadByte());
    }

    [SkippableTheory]
    [InlineData(PartcloneChecksumMode.Xxh64, 8, "-H1")]
    [InlineData(PartcloneChecksumMode.Xxh128, 16, "-H2")]
    public void XxHashStreams_ReadAndCatchDamage(PartcloneChecksumMode mode, int size, string xxhsumMode)
    {
        ExternalTool.Require("xxhsum", "xxhash");
        var (source, stream) = MakeStream("extfs", ["-a", "0"]);
        byte[] reframed = Reframe(File.ReadAllBytes(stream), mode, size, blocksPerChecksum: 5, xxhsumMode);
        byte[] disk = File.ReadAllBytes(source);

        var reader = new PartcloneReader(new MemoryStream(reframed), "p1 in test.img");
        Assert.Equal(reader.Header.UsedBlocks, ReadAll(reader, disk));

        reframed[^(size + 100)] ^= 1;
        var damaged = new PartcloneReader(new MemoryStream(reframed), "p1 in test.img");
        var e = Assert.Throws<DiskFormatException>(() => ReadAll(damaged, disk));
        Assert.Contains($"{mode.ToString().ToUpperInvariant()} checksum", e.Message);
        Assert.Contains("p1 in test.img", e.Message);
    }

    [SkippableTheory]
    [InlineData(0x1E, "0001", "partclone image format 0001 (partclone before 0.3.0) is not supported")]
    [InlineData(0x22, "\u00C0\u00DE", "endianess = 0xdec0")]
    [InlineData(0x3C, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x0F", "totalblock")]
    [InlineData(0x4C, "\xFF\xFF\xFF\xFF\x00\x00\x00\x00", "usedblocks")]
    [InlineData(0x54, "\x00\x03\x00\x00", "block_size = 768")]
    [InlineData(0x60, "\x21\x00", "checksum_mode = 0x21")]
    [InlineData(0x62, "\x08\x00", "checksum_size = 8")]
    [InlineData(0x64, "\x00\x00\x00\x00", "blocks_per_checksum = 0")]
    [InlineData(0x69, "\x08", "bitmap_mode = 8")]
    public void ForgedHeaderField_IsRefusedByName(int offset, string bytes, string expected)
    {
        var (_, stream) = MakeStream("extfs", []);
        byte[] image = File.ReadAllBytes(stream);
        for (int i = 0; i < bytes.Length; i++)
        {
            image[offset + i] = (byte)bytes[i];
        }
        // A forger recomputes the CRC: the fields' own bounds must hold.
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(HeaderLength - 4), PartcloneChecksum.Crc32(image.AsSpan(0, HeaderLength - 4)));

        var e = Assert.Throws<DiskFormatException>(() => new PartcloneReader(new MemoryStream(image), "p1 in test.img"));

        Assert.Contains(expected, e.Message);
        Assert.StartsWith("partclone header of p1 in test.img", e.Message);
    }

    [SkippableFact]
    public void HeaderAndBitmapThatDisagree_AreRefused()
    {
        var (_, stream) = MakeStream("extfs", []);
        byte[] image = File.ReadAllBytes(stream);
        long used = BinaryPrimitives.ReadInt64LittleEndian(image.AsSpan(0x4C));
        BinaryPrimitives.WriteInt64LittleEndian(image.AsSpan(0x4C), used - 1);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(HeaderLength - 4), PartcloneChecksum.Crc32(image.AsSpan(0, HeaderLength - 4)));

        var e = Assert.Throws<DiskFormatException>(() => new PartcloneReader(new MemoryStream(image), "p1 in test.img"));

        Assert.Contains("header and bitmap disagree", e.Message);
    }

    [SkippableFact]
    public void EveryTruncation_IsAnError()
    {
        var (source, stream) = MakeStream("extfs", ["-k", "64"]);
        byte[] image = File.ReadAllBytes(stream);
        byte[] disk = File.ReadAllBytes(source);
        foreach (int length in (int[])[0, 10, HeaderLength, HeaderLength + 100, image.Length / 2, image.Length - 4, image.Length - 1])
        {
            var e = Assert.Throws<DiskFormatException>(() => ReadAll(new PartcloneReader(new MemoryStream(image[..length]), "p1 in test.img"), disk));
            Assert.Contains("p1 in test.img", e.Message);
        }
    }

    /// <summary>Reads every run and checks each block against the source's bytes at its offset.</summary>
    private static long ReadAll(PartcloneReader reader, byte[] disk)
    {
        int blockSize = reader.Header.BlockSize;
        var buffer = new byte[blockSize * 37];
        long blocks = 0;
        while (reader.ReadRun(buffer, out long first) is int count and > 0)
        {
            for (int i = 0; i < count; i++)
            {
                long offset = (first + i) * blockSize;
                Assert.True(disk.AsSpan((int)offset, blockSize).SequenceEqual(buffer.AsSpan(i * blockSize, blockSize)),
                    $"block {first + i} differs from the source");
                Assert.True(reader.IsUsed(first + i));
            }
            blocks += count;
        }
        return blocks;
    }

    /// <summary>An ext4 (1 KiB blocks, files) or FAT filesystem of a few MiB, and partclone's stream of it.</summary>
    private (string Source, string Stream) MakeStream(string tool, string[] options)
    {
        ExternalTool.Require($"partclone.{tool}", "partclone");
        string source = _scratch.SparseFile($"{tool}.img", 12 << 20);
        string files = Directory.CreateDirectory(_scratch.File("files")).FullName;
        var random = new Random(18);
        for (int i = 0; i < 4; i++)
        {
            var bytes = new byte[90_000 * (i + 1)];
            random.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(files, $"f{i}.bin"), bytes);
        }
        if (tool == "extfs")
        {
            ExternalTool.Require("mkfs.ext4", "e2fsprogs");
            ExternalTool.Run("mkfs.ext4", "-q", "-F", "-b", "1024", "-d", files, source);
        }
        else
        {
            ExternalTool.Require("mkfs.fat", "dosfstools");
            ExternalTool.Require("mcopy", "mtools");
            ExternalTool.Run("mkfs.fat", source);
            ExternalTool.Run("mcopy", "-i", source, Path.Combine(files, "f1.bin"), "::/f1.bin");
        }
        string stream = _scratch.File($"{tool}.pc");
        ExternalTool.Run($"partclone.{tool}", ["-c", "-s", source, "-O", stream, "-L", _scratch.File("partclone.log"), "-f", "0", .. options]);
        return (source, stream);
    }

    /// <summary>Rewrites a stream partclone wrote without checksums (-a 0) into one with <paramref name="mode"/> every
    /// <paramref name="blocksPerChecksum"/> blocks (reseeded), each checksum computed by xxhsum and stored as
    /// partclone's memcpy of the digest: the canonical big-endian bytes reversed.</summary>
    private byte[] Reframe(byte[] plain, PartcloneChecksumMode mode, int size, int blocksPerChecksum, string xxhsumMode)
    {
        byte[] header = plain[..HeaderLength];
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0x60), (ushort)mode);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0x62), (ushort)size);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x64), (uint)blocksPerChecksum);
        header[0x68] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(HeaderLength - 4), PartcloneChecksum.Crc32(header.AsSpan(0, HeaderLength - 4)));
        int blockSize = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(0x54));
        long totalBlocks = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(0x3C));
        int blocksStart = HeaderLength + (int)((totalBlocks + 7) / 8) + 4;
        var output = new MemoryStream();
        output.Write(header);
        output.Write(plain.AsSpan(HeaderLength, blocksStart - HeaderLength));
        for (int at = blocksStart; at < plain.Length; at += blocksPerChecksum * blockSize)
        {
            int length = Math.Min(blocksPerChecksum * blockSize, plain.Length - at);
            string group = _scratch.File("group");
            File.WriteAllBytes(group, plain[at..(at + length)]);
            string hex = ExternalTool.Run("xxhsum", xxhsumMode, group).Split(' ')[0];
            output.Write(plain.AsSpan(at, length));
            output.Write(Convert.FromHexString(hex).Reverse().ToArray());
        }
        return output.ToArray();
    }
}
