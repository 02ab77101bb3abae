using System.Buffers.Binary;
using System.Text;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Lvm;
using LiveImager.Formats.Tests.FileSystems.Ext;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Lvm;

/// <summary>Bad checksums, broken or hostile metadata text on a real PV: each gives a whole copy of the PV (or of one
/// LV) with a message naming what was wrong, never an exception escaping, and never a map that skips an LV's bytes.</summary>
public sealed class LvmCorruptionTests : IClassFixture<LvmCorruptionTests.Volume>
{
    private const long MiB = 1L << 20;

    /// <summary>The characters that matter to the parser, so that most mutations reach it rather than a name.</summary>
    private const string Syntax = "{}[]=\",#0123456789 \n-";
    private readonly Volume _volume;

    public LvmCorruptionTests(Volume volume) => _volume = volume;

    /// <summary>A 64 MiB PV with two metadata areas (start and end) and an ext4 LV, read into memory once.</summary>
    public sealed class Volume : IDisposable
    {
        private readonly ScratchDirectory _scratch = new();

        public Volume()
        {
            if (!Privileges.IsRoot || !ExternalTool.Exists("pvcreate") || !ExternalTool.Exists("mke2fs"))
            {
                return;
            }
            var fs = ExtTestImage.Create(_scratch, "lvbad", "-t ext4", 16, dataBytes: 2 * MiB);
            using var disk = LvmTestDisk.Create(_scratch, 64 * MiB);
            disk.CreateLogicalVolume("data", 4);
            disk.WriteLogicalVolume("data", fs.Path);
            Bytes = File.ReadAllBytes(disk.Files[0]);
            // A second PV made with two metadata areas, one LV, then a later change: its first area is set back to
            // the earlier text, so the two areas hold different seqnos.
            var two = LvmTwoAreas.Create();
            TwoAreas = two.Bytes;
            OlderFirstArea = two.OlderFirstArea;
        }

        /// <summary>The PV's bytes, or null when the tools or root are missing.</summary>
        public byte[]? Bytes { get; }

        public byte[]? TwoAreas { get; }

        public byte[]? OlderFirstArea { get; }

        public void Dispose() => _scratch.Dispose();
    }

    [SkippableFact]
    public void TheUntouchedVolumeIsMapped()
    {
        var analysis = Analyze(Require());
        Assert.False(analysis.IsWholeCopy, analysis.Method);
        Assert.Null(Assert.Single(analysis.LogicalVolumes).WholeCopyReason);
    }

    [SkippableFact]
    public void ALabelWithABadChecksumIsCopiedWhole()
    {
        var bytes = Require();
        bytes[512 + 0x20 + 3] ^= 0x40; // a byte of the PV UUID, in sector 1 where pvcreate writes the label

        var analysis = Analyze(bytes);

        AssertWholeCopy(analysis, "LVM2 label: crc_xl = 0x", "at byte 528: the label's checksum is 0x");
    }

    [SkippableFact]
    public void AMetadataAreaHeaderWithABadChecksumIsCopiedWhole()
    {
        var bytes = Require();
        bytes[4096 + 0x100] ^= 1; // unused bytes of the mda_header at 4 KiB: only its checksum covers them

        var analysis = Analyze(bytes);

        AssertWholeCopy(analysis, "LVM2 metadata area header: checksum_xl = 0x", "at byte 4096: the header's checksum is 0x");
    }

    [SkippableFact]
    public void MetadataTextWithABadChecksumIsCopiedWhole()
    {
        var bytes = Require();
        var (textOffset, _) = TextLocation(bytes);
        bytes[textOffset + 1] ^= 0x20;

        var analysis = Analyze(bytes);

        AssertWholeCopy(analysis, "LVM2 metadata area header: raw_locn checksum = 0x", "the metadata text's checksum is 0x");
    }

    [SkippableTheory]
    [InlineData("seqno = ", "seqno = x", "LVM2 metadata text: syntax = 'x' at byte")]
    [InlineData("logical_volumes {", "logical_volumes (", "LVM2 metadata text: syntax = logical_volumes at byte")]
    [InlineData("extent_size = 8192", "extent_size = 0", "/extent_size = 0 at byte -1: must be 1..33554432")]
    [InlineData("extent_size = 8192", "extent_size = 99999999999999999999", "not an integer that fits in 64 bits")]
    [InlineData("pe_count = 15", "pe_count = 4294967295", "do not fit in the 67108864-byte PV")]
    [InlineData("pe_start = 2048", "pe_start = 9223372036854775807", "pe_start = 9223372036854775807 at byte -1: must be 0..")]
    [InlineData("extent_count = 4", "extent_count = 4000000000", "pass the PV's 15 extents")]
    [InlineData("segment_count = 1", "segment_count = 100000000", "segment_count = 100000000 at byte -1: must be 1..65536")]
    [InlineData("stripe_count = 1", "stripe_count = 2", "expected 2 pairs of a listed PV and an extent")]
    [InlineData("\"pv0\", 0", "\"pv0\", -5", "segment1/stripes = -5 at byte -1: must be 0..4294967295")]
    [InlineData("\"pv0\", 0", "\"pv0\", 14", "4 extents from extent 14 pass the PV's 15 extents")]
    public void HostileMetadataTextIsCopiedWholeNamingTheValue(string find, string replace, string expected)
    {
        var bytes = Require();
        RewriteText(bytes, text =>
        {
            Assert.Contains(find, text);
            return ReplaceFirst(text, find, replace);
        });

        var analysis = Analyze(bytes);

        Assert.True(analysis.IsWholeCopy, analysis.Method);
        Assert.Equal("whole copy: lvm2-pv metadata could not be trusted", analysis.Method);
        Assert.Contains(expected, Assert.Single(analysis.Warnings));
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
    }

    [SkippableFact]
    public void DeeplyNestedAndHugeTextIsRefusedWithoutRecursingOrAllocating()
    {
        var bytes = Require();
        RewriteText(bytes, text => ReplaceFirst(text, "flags = []", string.Concat(Enumerable.Repeat("a {", 5000)) + string.Concat(Enumerable.Repeat("}", 5000))));

        var analysis = Analyze(bytes);

        Assert.Contains("sections nest deeper than 8", Assert.Single(analysis.Warnings));
    }

    [SkippableFact]
    public void AnUnknownSegmentTypeCopiesThatVolumeWhole()
    {
        var bytes = Require();
        RewriteText(bytes, text => ReplaceFirst(text, "type = \"striped\"", "type = \"raid1\""));

        var analysis = Analyze(bytes);

        Assert.False(analysis.IsWholeCopy);
        var lv = Assert.Single(analysis.LogicalVolumes);
        Assert.Equal("raid1 segment (only linear and striped LVs are mapped)", lv.WholeCopyReason);
        Assert.Equal(16 * MiB, lv.UsedBytes);
        Assert.Contains("LV data copied whole: raid1 segment (only linear and striped LVs are mapped)", analysis.Warnings);
    }

    [SkippableFact]
    public void AStripeSizeLvmWouldNotMakeCopiesThatVolumeWhole()
    {
        var bytes = Require();
        RewriteText(bytes, text => ReplaceFirst(ReplaceFirst(text, "stripe_count = 1", "stripe_count = 2\nstripe_size = 3"),
            "\"pv0\", 0", "\"pv0\", 0, \"pv0\", 2"));

        var analysis = Analyze(bytes);

        var lv = Assert.Single(analysis.LogicalVolumes);
        Assert.Equal("stripe size 1536 is not a power of two of at least 4096", lv.WholeCopyReason);
        Assert.Equal("extents 0-3: striped 2x1KiB pv0:0-1 pv0:2-3", Assert.Single(lv.Segments));
    }

    [SkippableFact]
    public void TheNewestOfTwoMetadataAreasIsUsedAndABadOneIsSkipped()
    {
        Require();
        var same = Analyze(_volume.TwoAreas!.ToArray());
        Assert.Equal(["first", "second"], same.LogicalVolumes.Select(l => l.Name).Order());
        Assert.DoesNotContain(same.Warnings, w => w.StartsWith("metadata area", StringComparison.Ordinal));

        var newest = Analyze(_volume.OlderFirstArea!.ToArray());
        Assert.Equal(["first", "second"], newest.LogicalVolumes.Select(l => l.Name).Order());
        Assert.Contains(newest.Warnings, w => w.StartsWith("metadata areas hold seqno ", StringComparison.Ordinal) && w.EndsWith(" is used", StringComparison.Ordinal));

        var bad = _volume.TwoAreas!.ToArray();
        var (textOffset, _) = TextLocation(bad);
        bad[textOffset + 2] ^= 0x20;
        var skipped = Analyze(bad);
        Assert.Equal(["first", "second"], skipped.LogicalVolumes.Select(l => l.Name).Order());
        Assert.Contains(skipped.Warnings, w => w.StartsWith("metadata area at byte 4096 skipped: LVM2 metadata area header: raw_locn checksum", StringComparison.Ordinal));
    }

    /// <summary>LVM's metadata area is a ring buffer: text that reaches its end goes on after the header. The same
    /// text moved to wrap there (its checksum unchanged) reads as before.</summary>
    [SkippableFact]
    public void MetadataTextThatWrapsRoundTheRingBufferIsRead()
    {
        var bytes = Require();
        const int area = 4096;
        var (offset, size) = TextLocation(bytes);
        long areaSize = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(area + 0x20));
        byte[] text = bytes.AsSpan(offset, size).ToArray();
        bytes.AsSpan(offset, size).Clear();
        int wrapAt = 300;
        long newOffset = areaSize - wrapAt;
        text.AsSpan(0, wrapAt).CopyTo(bytes.AsSpan((int)(area + newOffset)));
        text.AsSpan(wrapAt).CopyTo(bytes.AsSpan(area + 512));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(area + 0x28), newOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(area), LvmChecksum.Compute(bytes.AsSpan(area + 4, 512 - 4)));

        var analysis = Analyze(bytes);

        Assert.False(analysis.IsWholeCopy, string.Join("; ", analysis.Warnings));
        Assert.Null(Assert.Single(analysis.LogicalVolumes).WholeCopyReason);
    }

    /// <summary>Random bytes over the metadata text, with its checksums made right again so the parser sees them.</summary>
    [SkippableFact]
    public void MutatedMetadataTextNeverEscapesAsAnythingButADiskFormatError()
    {
        var original = Require();
        var (textOffset, textSize) = TextLocation(original);
        var random = new Random(13);
        var module = new LvmModule();
        int mapped = 0;
        int rejected = 0;
        for (int round = 0; round < 300; round++)
        {
            var bytes = (byte[])original.Clone();
            for (int i = random.Next(1, 5); i > 0; i--)
            {
                bytes[textOffset + random.Next(textSize)] = (byte)(random.Next(4) == 0 ? random.Next(256) : Syntax[random.Next(Syntax.Length)]);
            }
            FixChecksums(bytes);
            try
            {
                var analysis = module.Analyze(new StreamBlockSource(new MemoryStream(bytes, writable: false)));
                Assert.All(Enumerable.Range(0, (int)(MiB / analysis.BlockSize)), b => Assert.True(analysis.Map.IsUsed(b)));
                mapped++;
            }
            catch (DiskFormatException)
            {
                rejected++;
            }
        }
        Assert.True(mapped > 0 && rejected > 0, $"mapped {mapped}, rejected {rejected}");
    }

    private byte[] Require()
    {
        Skip.If(_volume.Bytes is null, "needs root, lvm2 and e2fsprogs (apt-get install lvm2 e2fsprogs)");
        return _volume.Bytes!.ToArray();
    }

    private static FileSystemAnalysis Analyze(byte[] bytes) =>
        FileSystemDetector.Analyze(new StreamBlockSource(new MemoryStream(bytes, writable: false)));

    private static void AssertWholeCopy(FileSystemAnalysis analysis, string start, string contains)
    {
        Assert.Equal(FileSystemKind.LvmPhysicalVolume, analysis.Kind);
        Assert.Equal("whole copy: lvm2-pv metadata could not be trusted", analysis.Method);
        string warning = Assert.Single(analysis.Warnings);
        Assert.StartsWith(start, warning);
        Assert.Contains(contains, warning);
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
    }

    private static string ReplaceFirst(string text, string find, string replace)
    {
        int at = text.IndexOf(find, StringComparison.Ordinal);
        return text[..at] + replace + text[(at + find.Length)..];
    }

    /// <summary>The first metadata area's text: where pvcreate puts the area (4 KiB) and its raw_locn.</summary>
    internal static (int Offset, int Size) TextLocation(byte[] bytes)
    {
        const int area = 4096;
        long offset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(area + 0x28));
        long size = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(area + 0x30));
        return ((int)(area + offset), (int)size);
    }

    /// <summary>Replaces the first area's text in place (it must not wrap), then its raw_locn size and checksum and
    /// the header's checksum, so only the text is wrong.</summary>
    internal static void RewriteText(byte[] bytes, Func<string, string> edit)
    {
        var (offset, size) = TextLocation(bytes);
        string text = Encoding.UTF8.GetString(bytes, offset, size);
        byte[] edited = Encoding.UTF8.GetBytes(edit(text));
        bytes.AsSpan(offset, size).Clear();
        edited.CopyTo(bytes, offset);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(4096 + 0x30), edited.Length);
        FixChecksums(bytes);
    }

    private static void FixChecksums(byte[] bytes)
    {
        var (offset, size) = TextLocation(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4096 + 0x38), LvmChecksum.Compute(bytes.AsSpan(offset, size)));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4096), LvmChecksum.Compute(bytes.AsSpan(4096 + 4, 512 - 4)));
    }
}
