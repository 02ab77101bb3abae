using System.Buffers.Binary;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Xfs;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Xfs;

/// <summary>Two pristine XFS images made once for <see cref="XfsCorruptionTests"/>: v5 filled through a mount, v4
/// filled from a prototype file. Tests damage them through a <see cref="PatchedImage"/>, never in place.</summary>
public sealed class XfsPristineVolumes : IDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private XfsTestVolume? _v5;
    private XfsTestVolume? _v4;

    /// <summary>512 MiB, 4 KiB blocks, 512-byte sectors, seven 80 MiB groups.</summary>
    public XfsTestVolume V5 => _v5 ??= XfsTestVolume.Create(_scratch, "pristine5", "-d agsize=80m", 512, randomBytes: 8 << 20);

    public XfsTestVolume V4 => _v4 ??= XfsTestVolume.Create(_scratch, "pristine4", "-m crc=0 -d agsize=80m", 512,
        randomBytes: 8 << 20);

    public ScratchDirectory Scratch => _scratch;

    public void Dispose() => _scratch.Dispose();
}

/// <summary>Damaged XFS metadata: each case gives its documented message and a whole copy; random damage never
/// escapes as anything but the domain exception and never yields a map that drops a used block.</summary>
public sealed class XfsCorruptionTests(XfsPristineVolumes pristine) : IClassFixture<XfsPristineVolumes>, IDisposable
{
    private const int SectorSize = 512;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void BadMagicIsNotDetected()
    {
        var image = V5();
        image.Patch(XfsSuperblock.MagicOffset, [0x58, 0x46, 0x53, 0x43]);

        var analysis = image.Analyze();

        Assert.Equal(FileSystemKind.Unknown, analysis.Kind);
        Assert.Equal("whole copy: unknown filesystem", analysis.Method);
    }

    [SkippableTheory]
    [InlineData(0x80000000u, "0x80000000 (bit 31)")]
    [InlineData(0x00000040u, "0x40 (exchange)")]
    [InlineData(0x00000180u, "0x180 (parent, metadir)")]
    public void UnknownIncompatFeatureMeansWholeCopyNamingIt(uint bits, string named)
    {
        var image = V5();
        uint incompat = image.ReadUInt32(XfsSuperblock.FeaturesIncompatOffset);
        image.PatchWithChecksum(0, SectorSize, XfsSuperblock.ChecksumOffset, XfsSuperblock.FeaturesIncompatOffset, BigEndian(incompat | bits));

        var analysis = image.Analyze();

        Assert.Equal($"whole copy: xfs has incompat features this tool does not understand: {named}", analysis.Method);
        Assert.Equal(FileSystemKind.Xfs, analysis.Kind);
        Assert.Equal("li-pristine5", analysis.Label);
        Assert.Equal(XfsTestVolume.SuperblockField(pristine.V5.Path, "uuid"), analysis.Uuid);
        Assert.Equal(new FileInfo(pristine.V5.Path).Length, analysis.Map.UsedBytes);
    }

    [SkippableFact]
    public void NeedsRepairMeansWholeCopy()
    {
        var image = V5();
        uint incompat = image.ReadUInt32(XfsSuperblock.FeaturesIncompatOffset);
        image.PatchWithChecksum(0, SectorSize, XfsSuperblock.ChecksumOffset, XfsSuperblock.FeaturesIncompatOffset,
            BigEndian(incompat | XfsFeatures.IncompatNeedsRepair));

        Assert.Equal("whole copy: xfs is marked NEEDSREPAIR: xfs_repair must run before its metadata can be trusted",
            image.Analyze().Method);
    }

    [SkippableFact]
    public void UnknownRoCompatFeatureIsMappedWithWarning()
    {
        var image = V5();
        var clean = image.Analyze();
        uint roCompat = image.ReadUInt32(XfsSuperblock.FeaturesRoCompatOffset);
        image.PatchWithChecksum(0, SectorSize, XfsSuperblock.ChecksumOffset, XfsSuperblock.FeaturesRoCompatOffset,
            BigEndian(roCompat | 0x40000000));

        var analysis = image.Analyze();

        Assert.Equal("xfs v5 free-space B+trees", analysis.Method);
        Assert.Equal(["xfs has ro_compat features this tool does not know: 0x40000000; free space was read as usual"],
            analysis.Warnings);
        Assert.Equal(clean.Map.ToBitmap(), analysis.Map.ToBitmap());
    }

    [SkippableFact]
    public void SuperblockChecksumMismatchMeansWholeCopy()
    {
        var image = V5();
        uint stored = image.ReadUInt32LittleEndian(XfsSuperblock.ChecksumOffset);
        image.Patch(XfsSuperblock.FreeDataBlocksOffset + 7, [0x01]);

        var analysis = image.Analyze();

        AssertUntrusted(analysis, $"xfs superblock: sb_crc = 0x{stored:X8} at byte 224: does not match the computed 0x");
    }

    [SkippableFact]
    public void AbsurdGroupCountIsRefusedBeforeAnyGroupIsRead()
    {
        var image = V5();
        image.PatchWithChecksum(0, SectorSize, XfsSuperblock.ChecksumOffset, XfsSuperblock.AgCountOffset, BigEndian(0xFFFFFFFF));

        AssertUntrusted(image.Analyze(), "xfs superblock: sb_agcount = 4294967295 at byte 88: does not agree with sb_dblocks 131072 "
            + "at 20480 blocks per group (the last group must hold 64 to 20480)");
    }

    [SkippableFact]
    public void TruncatedPartitionMeansWholeCopy()
    {
        var image = V5();

        var analysis = image.Analyze(length: 256L << 20);

        AssertUntrusted(analysis, "xfs superblock: sb_dblocks = 131072 at byte 8: does not fit the 268435456-byte partition at 4096-byte blocks");
    }

    [SkippableFact]
    public void TamperedSuperblockFreeCountMeansWholeCopyWithWarning()
    {
        var image = V5();
        ulong free = BinaryPrimitives.ReadUInt64BigEndian(image.Read(XfsSuperblock.FreeDataBlocksOffset, 8));
        var value = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(value, free + 1000);
        image.PatchWithChecksum(0, SectorSize, XfsSuperblock.ChecksumOffset, XfsSuperblock.FreeDataBlocksOffset, value);

        var analysis = image.Analyze();

        Assert.Equal("whole copy: xfs free counts disagree", analysis.Method);
        Assert.Equal([$"xfs superblock: sb_fdblocks = {free + 1000} is not the {free} blocks the AGFs count (agf_freeblks + agf_flcount + agf_btreeblks)"],
            analysis.Warnings);
    }

    [SkippableFact]
    public void TamperedAgfFreeCountMeansWholeCopy()
    {
        var image = V5();
        long agf = image.AgfOffset(2);
        uint free = image.ReadUInt32(agf + XfsAgf.FreeBlocksOffset);
        image.PatchWithChecksum(agf, SectorSize, XfsAgf.ChecksumOffset, XfsAgf.FreeBlocksOffset, BigEndian(free - 8));

        AssertUntrusted(image.Analyze(),
            $"xfs AGF 2: agf_freeblks = {free - 8} at byte {agf + XfsAgf.FreeBlocksOffset}: is not the {free} free blocks the bnobt's records hold");
    }

    [SkippableFact]
    public void AgfChecksumMismatchMeansWholeCopy()
    {
        var image = V5();
        long agf = image.AgfOffset(5);
        image.Patch(agf + XfsAgf.BtreeBlocksOffset + 3, [0x7F]);

        AssertUntrusted(image.Analyze(),
            $"xfs AGF 5: agf_crc = mismatch at byte {agf + XfsAgf.ChecksumOffset}: does not match the sector's crc32c");
    }

    [SkippableFact]
    public void BnobtChecksumMismatchMeansWholeCopy()
    {
        var image = V5();
        var (root, offset) = image.ByBlockRoot(3);
        image.Patch(offset + XfsBtreeBlock.V5HeaderSize + 4, [0xEE]);

        AssertUntrusted(image.Analyze(),
            $"xfs bnobt block 3/{root}: bb_crc = mismatch at byte {offset + XfsBtreeBlock.ChecksumOffset}: does not match the block's crc32c");
    }

    [SkippableFact]
    public void FreeExtentOverTheGroupHeadersMeansWholeCopy()
    {
        var image = V5();
        var (root, offset) = image.ByBlockRoot(1);
        uint count = image.ReadUInt32(offset + XfsBtreeBlock.V5HeaderSize + 4);
        image.PatchWithChecksum(offset, 4096, XfsBtreeBlock.ChecksumOffset, XfsBtreeBlock.V5HeaderSize, BigEndian(0));

        AssertUntrusted(image.Analyze(),
            $"xfs bnobt block 1/{root}: record 0 = 0+{count} at byte {offset + XfsBtreeBlock.V5HeaderSize}: starts before block 1, "
            + "the end of the header sectors or of the previous record");
    }

    /// <summary>A free extent moved one block down keeps the tree's sum and, with its crc fixed, every check of its
    /// own block: only the by-size tree, which still holds the extent where it was, shows the forgery.</summary>
    [SkippableTheory]
    [InlineData(5)]
    [InlineData(4)]
    public void FreeExtentMovedInOneTreeOnlyMeansWholeCopy(int version)
    {
        var image = version == 5 ? V5() : V4();
        int header = version == 5 ? XfsBtreeBlock.V5HeaderSize : XfsBtreeBlock.V4HeaderSize;
        var (_, offset) = image.ByBlockRoot(4);
        uint start = image.ReadUInt32(offset + header);
        if (version == 5)
        {
            image.PatchWithChecksum(offset, 4096, XfsBtreeBlock.ChecksumOffset, header, BigEndian(start - 1));
        }
        else
        {
            image.Patch(offset + header, BigEndian(start - 1));
        }

        var analysis = image.Analyze();

        Assert.Equal("whole copy: xfs metadata could not be trusted", analysis.Method);
        Assert.Single(analysis.Warnings);
        Assert.EndsWith("the by-block and by-size trees do not hold the same free extents", analysis.Warnings[0]);
        Assert.StartsWith("xfs AGF 4: free-space trees = bnobt ", analysis.Warnings[0]);
    }

    [SkippableFact]
    public void DirtyLogAfterAShutdownMeansWholeCopy()
    {
        XfsTestVolume.RequireTools();
        ExternalTool.Require("xfs_io", "xfsprogs");
        string path = _scratch.SparseFile("dirty.img", 512L << 20);
        ExternalTool.Run("mkfs.xfs", "-q", "-f", path);
        using (var mount = XfsMount.Mount(_scratch, path, readOnly: false))
        {
            ExternalTool.Run("cp", "-a", "/usr/include/linux", mount.Directory);
            // Forces the filesystem down with the log flushed but not checkpointed: the next mount must replay it.
            ExternalTool.Run("xfs_io", "-x", "-c", "shutdown -f", mount.Directory);
        }

        var analysis = ImageAnalysis.Analyze(path);

        // How many operations the newest record holds depends on the kernel's timing; that it is not the unmount
        // record does not.
        Assert.Matches(@"^whole copy: xfs log is not clean \(the newest log record holds \d+ operations, not the single "
            + @"unmount record\); mount the filesystem once to replay it$", analysis.Method);
        Assert.Equal(FileSystemKind.Xfs, analysis.Kind);
    }

    [SkippableFact]
    public void ExternalLogMeansWholeCopy()
    {
        XfsTestVolume.RequireTools();
        string path = _scratch.SparseFile("data.img", 512L << 20);
        string log = _scratch.SparseFile("log.img", 64L << 20);
        ExternalTool.Run("mkfs.xfs", "-q", "-f", "-l", $"logdev={log}", path);

        Assert.Equal("whole copy: xfs has an external log: whether it needs recovery cannot be seen from this partition",
            ImageAnalysis.Analyze(path).Method);
    }

    [SkippableFact]
    public void RealtimeSectionMeansWholeCopy()
    {
        XfsTestVolume.RequireTools();
        string path = _scratch.SparseFile("data.img", 512L << 20);
        string realtime = _scratch.SparseFile("rt.img", 64L << 20);
        ExternalTool.Run("mkfs.xfs", "-q", "-f", "-r", $"rtdev={realtime}", path);

        Assert.Equal("whole copy: xfs has a realtime section of 16384 blocks on another device",
            ImageAnalysis.Analyze(path).Method);
    }

    /// <summary>Rounds of one to four random bytes over the superblock, the AGFs and the free-space tree roots, with
    /// the v5 crcs fixed afterwards in half of them (a forger's damage, not just bit rot): every round ends in a map
    /// or the domain exception, and no map drops a block the pristine map has used.</summary>
    [SkippableTheory]
    [InlineData(5, false)]
    [InlineData(5, true)]
    [InlineData(4, false)]
    public void RandomDamageNeverEscapesAndNeverDropsAUsedBlock(int version, bool fixChecksums)
    {
        var image = version == 5 ? V5() : V4();
        var module = new XfsModule();
        var pristineMap = image.AnalyzeWith(module).Map;
        int header = version == 5 ? XfsBtreeBlock.V5HeaderSize : XfsBtreeBlock.V4HeaderSize;
        var regions = new List<(long Offset, int Length, int ChecksumOffset)> { (0, SectorSize, XfsSuperblock.ChecksumOffset) };
        for (uint ag = 0; ag < 7; ag++)
        {
            regions.Add((image.AgfOffset(ag), SectorSize, XfsAgf.ChecksumOffset));
            regions.Add((image.ByBlockRoot(ag).Offset, 4096, XfsBtreeBlock.ChecksumOffset));
            regions.Add((image.ByCountRoot(ag), 4096, XfsBtreeBlock.ChecksumOffset));
        }
        var random = new Random(version * 10 + (fixChecksums ? 1 : 0));
        int mapped = 0;
        int rejected = 0;
        for (int round = 0; round < 200; round++)
        {
            image.ClearPatches();
            var (offset, length, checksumOffset) = regions[random.Next(regions.Count)];
            // Aim at the fields: the first 0x108 bytes of a sector, the header and first records of a block.
            int span = Math.Min(length, length == SectorSize ? 0x108 : header + 64);
            var bytes = image.Read(offset, length);
            for (int i = random.Next(1, 5); i > 0; i--)
            {
                bytes[random.Next(span)] = (byte)random.Next(256);
            }
            if (version == 5 && fixChecksums)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(checksumOffset), XfsChecksum.Compute(bytes, checksumOffset));
            }
            image.Patch(offset, bytes);
            try
            {
                var map = image.AnalyzeWith(module).Map;
                mapped++;
                AssertKeepsEveryUsedBlock(pristineMap, map, $"round {round}, {bytes.Length} bytes at {offset}");
            }
            catch (DiskFormatException)
            {
                rejected++;
            }
        }
        // Unfixed v5 damage is all caught by the crcs (a round maps only if its random bytes equal the old ones).
        Assert.True(rejected > 0 && (mapped > 0 || (version == 5 && !fixChecksums)), $"mapped {mapped}, rejected {rejected}");
    }

    private static void AssertKeepsEveryUsedBlock(UsedBlockMap pristine, UsedBlockMap damaged, string round)
    {
        foreach (var (first, count) in pristine.UsedRuns())
        {
            long startByte = first * pristine.BlockSize;
            long endByte = (first + count) * pristine.BlockSize;
            for (long unit = startByte / damaged.BlockSize; unit * damaged.BlockSize < endByte && unit < damaged.BlockCount; unit++)
            {
                Assert.True(damaged.IsUsed(unit), $"{round}: block {unit} is used in the pristine map but freed");
            }
        }
    }

    private static void AssertUntrusted(FileSystemAnalysis analysis, string warningStart)
    {
        Assert.Equal("whole copy: xfs metadata could not be trusted", analysis.Method);
        Assert.Single(analysis.Warnings);
        Assert.StartsWith(warningStart, analysis.Warnings[0]);
        Assert.Equal(FileSystemKind.Xfs, analysis.Kind);
    }

    private static byte[] BigEndian(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    private PatchedImage V5()
    {
        XfsTestVolume.RequireTools();
        return new PatchedImage(pristine.V5.Path);
    }

    private PatchedImage V4()
    {
        XfsTestVolume.RequireTools();
        return new PatchedImage(pristine.V4.Path);
    }
}

/// <summary>A pristine image read through byte patches, so that each test damages only its own view of it.</summary>
public sealed class PatchedImage(string path)
{
    private readonly List<(long Offset, byte[] Bytes)> _patches = [];

    public void Patch(long offset, byte[] bytes) => _patches.Add((offset, bytes));

    public void ClearPatches() => _patches.Clear();

    /// <summary>Patches <paramref name="value"/> at <paramref name="field"/> of the structure of
    /// <paramref name="length"/> bytes at <paramref name="offset"/>, then rewrites its crc32c as XFS would.</summary>
    public void PatchWithChecksum(long offset, int length, int checksumOffset, int field, byte[] value)
    {
        var bytes = Read(offset, length);
        value.CopyTo(bytes, field);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(checksumOffset), XfsChecksum.Compute(bytes, checksumOffset));
        Patch(offset, bytes);
    }

    /// <summary>Bytes as the patched image holds them.</summary>
    public byte[] Read(long offset, int length)
    {
        var bytes = new byte[length];
        using var stream = File.OpenRead(path);
        new Source(stream, _patches).ReadAt(offset, bytes);
        return bytes;
    }

    public uint ReadUInt32(long offset) => BinaryPrimitives.ReadUInt32BigEndian(Read(offset, 4));

    public uint ReadUInt32LittleEndian(long offset) => BinaryPrimitives.ReadUInt32LittleEndian(Read(offset, 4));

    /// <summary>Byte offset of group <paramref name="ag"/>'s AGF (4 KiB blocks, 512-byte sectors, as the pristine images).</summary>
    public long AgfOffset(uint ag) => GroupOffset(ag) + 512;

    /// <summary>The bnobt root of group <paramref name="ag"/> and its byte offset.</summary>
    public (uint Block, long Offset) ByBlockRoot(uint ag)
    {
        uint root = ReadUInt32(AgfOffset(ag) + XfsAgf.ByBlockRootOffset);
        return (root, GroupOffset(ag) + (root * 4096L));
    }

    /// <summary>Byte offset of the cntbt root of group <paramref name="ag"/>.</summary>
    public long ByCountRoot(uint ag) => GroupOffset(ag) + (ReadUInt32(AgfOffset(ag) + XfsAgf.ByCountRootOffset) * 4096L);

    public FileSystemAnalysis Analyze(long length = -1)
    {
        using var stream = File.OpenRead(path);
        var source = new Source(stream, _patches);
        return FileSystemDetector.Analyze(length < 0 ? source : source.Slice(0, length));
    }

    /// <summary>Runs <paramref name="module"/> itself, so that its <see cref="DiskFormatException"/> reaches the caller.</summary>
    public FileSystemAnalysis AnalyzeWith(IFileSystemModule module)
    {
        using var stream = File.OpenRead(path);
        return module.Analyze(new Source(stream, _patches));
    }

    private long GroupOffset(uint ag) => (long)ag * ReadUInt32(XfsSuperblock.AgBlocksOffset) * 4096;

    private sealed class Source(FileStream stream, List<(long Offset, byte[] Bytes)> patches) : IBlockSource
    {
        private readonly StreamBlockSource _inner = new(stream);

        public long Length => _inner.Length;

        public void ReadAt(long offset, Span<byte> destination)
        {
            _inner.ReadAt(offset, destination);
            foreach (var (at, bytes) in patches)
            {
                long from = Math.Max(at, offset);
                long to = Math.Min(at + bytes.Length, offset + destination.Length);
                if (from < to)
                {
                    bytes.AsSpan((int)(from - at), (int)(to - from)).CopyTo(destination[(int)(from - offset)..]);
                }
            }
        }
    }
}
