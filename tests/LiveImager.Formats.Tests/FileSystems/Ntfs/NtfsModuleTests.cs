using System.Buffers.Binary;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.Formats.Tests.FileSystems.Ntfs;

/// <summary>NTFS volumes made by mkntfs and filled through ntfs-3g: the map against partclone, a round trip through
/// ntfsfix and file hashes, and damaged metadata.</summary>
public sealed class NtfsModuleTests(NtfsVolumes volumes, ITestOutputHelper output) : IClassFixture<NtfsVolumes>
{
    /// <summary>The declarative table: mkntfs cluster size (-c) and sector size (-s).</summary>
    public static TheoryData<int, int> Geometries => new() { { 512, 512 }, { 4096, 512 }, { 65536, 512 }, { 8192, 4096 } };

    private const int DamagedClusterSize = 4096;

    [SkippableTheory]
    [MemberData(nameof(Geometries))]
    public void IdentityMatchesBlkid(int clusterSize, int sectorSize)
    {
        RequireTools();
        var volume = volumes.Get(clusterSize, sectorSize);

        var analysis = Analyze(volume.Image);

        Assert.Equal(FileSystemKind.Ntfs, analysis.Kind);
        Assert.Equal("ntfs $Bitmap", analysis.Method);
        Assert.Empty(analysis.Warnings);
        Assert.Equal(clusterSize, analysis.BlockSize);
        Assert.Equal(Blkid(volume.Image, "LABEL"), analysis.Label);
        Assert.Equal(Blkid(volume.Image, "UUID"), analysis.Uuid);
        Assert.Equal(NtfsTestVolume.Label, analysis.Label);
    }

    [SkippableTheory]
    [MemberData(nameof(Geometries))]
    public void UsedClustersEqualPartclone(int clusterSize, int sectorSize)
    {
        RequireTools();
        ExternalTool.Require("partclone.ntfs", "partclone");
        var volume = volumes.Get(clusterSize, sectorSize);
        using var scratch = new ScratchDirectory();

        var analysis = Analyze(volume.Image);
        var (partcloneUsed, partcloneBlockSize) = Partclone.UsedBlocks("ntfs", volume.Image, scratch);

        output.WriteLine($"-c {clusterSize} -s {sectorSize}: {analysis.Map.UsedCount} of {analysis.Map.BlockCount} clusters used; " +
            $"partclone: {partcloneUsed} of {partcloneBlockSize}-byte blocks");
        Assert.Equal(partcloneBlockSize, analysis.BlockSize);
        Assert.Equal(partcloneUsed, analysis.Map.UsedCount);
        Assert.True(analysis.Map.UsedCount < analysis.Map.BlockCount / 2, "the deleted files' clusters must be free");
    }

    [SkippableTheory]
    [MemberData(nameof(Geometries))]
    public void CopyOfUsedClustersPassesNtfsfixAndKeepsEveryFile(int clusterSize, int sectorSize)
    {
        RequireTools();
        var volume = volumes.Get(clusterSize, sectorSize);
        using var scratch = new ScratchDirectory();
        string copy = scratch.File("copy.img");

        var analysis = Analyze(volume.Image);
        long copied = UsedBlockCopy.Copy(volume.Image, copy, analysis, 0, NtfsTestVolume.ImageBytes);

        var check = ExternalTool.RunUnchecked("ntfsfix", null, "-n", copy);
        Assert.True(check.ExitCode == 0, $"ntfsfix -n failed:\n{check.StandardOutput}{check.StandardError}");
        Assert.Contains("Checking the alternate boot sector... OK", check.StandardOutput);
        using (var mount = NtfsFuseMount.Mount(copy, scratch.File("mnt"), readOnly: true))
        {
            Assert.Equal(volume.Hashes, mount.HashFiles());
        }
        output.WriteLine($"-c {clusterSize} -s {sectorSize}: copied {copied} of {NtfsTestVolume.ImageBytes} bytes");
        Assert.True(copied < NtfsTestVolume.ImageBytes / 2, $"copied {copied} of {NtfsTestVolume.ImageBytes} bytes");
    }

    /// <summary>partclone's restore lacks the backup boot sector past the volume; ours has it (see the test above).</summary>
    [SkippableFact]
    public void PartcloneRestoreFailsNtfsfixForWantOfTheBackupBootSector()
    {
        RequireTools();
        ExternalTool.Require("partclone.ntfs", "partclone");
        var volume = volumes.Get(DamagedClusterSize);
        using var scratch = new ScratchDirectory();
        string image = scratch.File("partclone.img");
        string restored = scratch.SparseFile("restored.img", NtfsTestVolume.ImageBytes);

        ExternalTool.Run("partclone.ntfs", "-c", "-s", volume.Image, "-O", image, "-L", scratch.File("c.log"), "-F");
        ExternalTool.Run("partclone.ntfs", "-r", "-s", image, "-O", restored, "-L", scratch.File("r.log"), "-F");
        var check = ExternalTool.RunUnchecked("ntfsfix", null, "-n", restored);

        Assert.NotEqual(0, check.ExitCode);
        Assert.Contains("Checking the alternate boot sector... BAD", check.StandardOutput);
    }

    [SkippableFact]
    public void DirtyVolumeIsCopiedWholeWithAWarningAndLeftAsFound()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "dirty.img");
        var layout = new NtfsTestLayout(image);
        long attribute = layout.AttributeOffset(3, 0x70); // $Volume's $VOLUME_INFORMATION
        long value = attribute + BinaryPrimitives.ReadUInt16LittleEndian(layout.Bytes(attribute + 0x14, 2));
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(layout.Bytes(value + 0x0A, 2));
        byte[] dirty = BitConverter.GetBytes((ushort)(flags | 0x0001));
        NtfsTestLayout.Patch(image, value + 0x0A, dirty);
        NtfsTestLayout.Patch(image, value + 0x0A - layout.MftOffset + layout.MftMirrOffset, dirty); // $MFTMirr's copy
        Assert.Contains("Volume Flags: 0x0001", ExternalTool.Run("ntfsinfo", "-m", "-f", image));
        byte[] before = File.ReadAllBytes(image);

        var analysis = Analyze(image);

        Assert.Equal(FileSystemKind.Ntfs, analysis.Kind);
        Assert.Equal("whole copy: NTFS volume is marked dirty", analysis.Method);
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
        Assert.Equal(NtfsTestVolume.Label, analysis.Label);
        Assert.StartsWith("NTFS volume flags 0x0001: VOLUME_IS_DIRTY is set", Assert.Single(analysis.Warnings));
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    /// <summary>No Windows here to hibernate a volume, so the journal's two restart pages are written as Windows leaves
    /// them: a consistent restart area whose client is in use, with RESTART_VOLUME_IS_CLEAN clear (open) or set (closed
    /// cleanly). ntfs-3g judges the same pages: it refuses to mount the open journal read-write.</summary>
    [SkippableTheory]
    [InlineData(0x0000, false)]
    [InlineData(0x0002, true)]
    public void OpenJournalIsCopiedWholeWithAWarning(int restartFlags, bool clean)
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "journal.img");
        var layout = new NtfsTestLayout(image);
        long logFile = layout.FirstDataCluster(2);
        byte[] page = RestartPage((ushort)restartFlags);
        NtfsTestLayout.Patch(image, logFile, page);
        NtfsTestLayout.Patch(image, logFile + page.Length, page);

        var analysis = Analyze(image);

        Assert.Equal(FileSystemKind.Ntfs, analysis.Kind);
        if (clean)
        {
            Assert.Equal("ntfs $Bitmap", analysis.Method);
            Assert.Empty(analysis.Warnings);
        }
        else
        {
            Assert.Equal("whole copy: NTFS journal is not clean", analysis.Method);
            Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
            Assert.StartsWith("NTFS $LogFile restart area: client_in_use_list 0x0000, flags 0x0000: the journal is open",
                Assert.Single(analysis.Warnings));
        }
        // ntfs-3g's messages are complete only once it has exited: read them after the mount is disposed, not inside
        // it (under load the warning arrived after an early read, and the test failed).
        var mount = NtfsFuseMount.Mount(image, scratch.File("mnt"), readOnly: false);
        mount.Dispose();
        Assert.True(!clean == mount.Messages.Contains("unclean file system"), mount.Messages);
    }

    [SkippableFact]
    public void DataRunPastTheVolumeIsRefused()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "run.img");
        var layout = new NtfsTestLayout(image);
        long pairs = BitmapMappingPairs(layout);
        byte header = layout.Bytes(pairs, 1)[0];
        int lengthBytes = header & 0x0F;
        int lcnBytes = header >> 4;
        var lengthField = new byte[8];
        layout.Bytes(pairs + 1, lengthBytes).CopyTo(lengthField, 0);
        long length = BinaryPrimitives.ReadInt64LittleEndian(lengthField);
        var lcn = new byte[lcnBytes];
        lcn.AsSpan().Fill(0xFF);
        lcn[^1] = 0x7F; // the largest positive delta its field holds
        long target = (1L << (8 * lcnBytes - 1)) - 1;
        Assert.True(target >= layout.ClusterCount, "the patched LCN must lie past the volume");
        NtfsTestLayout.Patch(image, pairs + 1 + lengthBytes, lcn);

        AssertRefused(image,
            $"NTFS MFT record 6 attribute 0x80 data runs: run LCN = {target} at byte {pairs}: " +
            $"a run of {length} clusters there lies outside the volume's {layout.ClusterCount} clusters");
    }

    [SkippableFact]
    public void OverlappingDataRunsAreRefusedAsALoop()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "loop.img");
        var layout = new NtfsTestLayout(image);
        long attribute = layout.AttributeOffset(6, 0x80);
        long pairs = BitmapMappingPairs(layout);
        // Two one-cluster runs, the second at delta 0: the same cluster twice. highest_vcn says two clusters.
        byte[] runs = [0x11, 0x01, 0x04, 0x11, 0x01, 0x00, 0x00];
        int room = BinaryPrimitives.ReadInt32LittleEndian(layout.Bytes(attribute + 4, 4))
            - BinaryPrimitives.ReadUInt16LittleEndian(layout.Bytes(attribute + 0x20, 2));
        Assert.True(room >= runs.Length, $"only {room} bytes for the run list");
        NtfsTestLayout.Patch(image, pairs, runs);
        NtfsTestLayout.Patch(image, attribute + 0x18, BitConverter.GetBytes(1L));

        AssertRefused(image,
            $"NTFS MFT record 6 attribute 0x80 data runs: run LCN = 4 at byte {pairs}: " +
            "overlaps the run at LCN 4 of 1 clusters (a loop)");
    }

    /// <summary>NTFS keeps no free count to check $Bitmap against; the clusters the module knows are used must be marked so.</summary>
    [SkippableFact]
    public void BitmapMarkingTheMftFreeIsRefused()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "mftfree.img");
        var layout = new NtfsTestLayout(image);
        long mftCluster = layout.MftOffset / layout.ClusterSize;
        long bitmapByte = layout.FirstDataCluster(6) + mftCluster / 8;
        byte bits = layout.Bytes(bitmapByte, 1)[0];
        NtfsTestLayout.Patch(image, bitmapByte, [(byte)(bits & ~(1 << (int)(mftCluster % 8)))]);

        AssertRefused(image,
            $"NTFS $Bitmap: bit {mftCluster} = 0 at byte {bitmapByte}: marks cluster {mftCluster} of $MFT free; " +
            "the bitmap cannot be trusted");
    }

    [SkippableFact]
    public void BitmapShorterThanTheVolumeIsRefused()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "short.img");
        var layout = new NtfsTestLayout(image);
        long attribute = layout.AttributeOffset(6, 0x80);
        long needed = (layout.ClusterCount + 7) / 8;
        long allocated = BinaryPrimitives.ReadInt64LittleEndian(layout.Bytes(attribute + 0x28, 8));
        NtfsTestLayout.Patch(image, attribute + 0x30, BitConverter.GetBytes(needed - 8)); // data_size

        AssertRefused(image,
            $"NTFS MFT record 6 attribute 0x80: data_size = {needed - 8} at byte {attribute + 0x30}: " +
            $"{layout.ClusterCount} clusters need {needed} bytes of bitmap, within the {allocated} allocated");
    }

    [SkippableFact]
    public void RecordWithoutFileMagicIsRefused()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "magic.img");
        var layout = new NtfsTestLayout(image);
        long record = layout.RecordOffset(6);
        NtfsTestLayout.Patch(image, record, "BAAD"u8);

        AssertRefused(image, $"NTFS MFT record 6: magic = 42414144 at byte {record}: expected \"FILE\" (46494C45)");
    }

    [SkippableFact]
    public void TornRecordIsRefusedByItsUpdateSequence()
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "torn.img");
        var layout = new NtfsTestLayout(image);
        long record = layout.RecordOffset(6);
        int usaOffset = BinaryPrimitives.ReadUInt16LittleEndian(layout.Bytes(record + 4, 2));
        ushort sequence = BinaryPrimitives.ReadUInt16LittleEndian(layout.Bytes(record + usaOffset, 2));
        ushort torn = (ushort)(sequence + 1);
        long strideEnd = record + 2 * 512 - 2;
        NtfsTestLayout.Patch(image, strideEnd, BitConverter.GetBytes(torn));

        AssertRefused(image,
            $"NTFS MFT record 6: update sequence = 0x{torn:X4} at byte {strideEnd}: " +
            $"stride 1 does not end with the update sequence number 0x{sequence:X4} (torn write)");
    }

    [SkippableTheory]
    [InlineData(0xE0)] // 2^32 sectors per cluster
    [InlineData(0x03)] // not a power of two
    [InlineData(0x00)]
    public void AbsurdClusterSizeIsRefused(int sectorsPerCluster)
    {
        RequireTools();
        using var scratch = new ScratchDirectory();
        string image = volumes.CopyOf(DamagedClusterSize, scratch, "cluster.img");
        NtfsTestLayout.Patch(image, 0x0D, [(byte)sectorsPerCluster]);

        AssertRefused(image,
            $"NTFS boot sector: sectors_per_cluster = 0x{sectorsPerCluster:X2} at byte 13: " +
            "gives no power-of-two cluster size up to 2097152 bytes");
    }

    /// <summary>Random damage to the boot sector and the MFT records the module reads: every outcome is a map or the
    /// domain exception, each within a bound of time; never another exception, a hang or a runaway allocation.</summary>
    [SkippableFact]
    public void RandomDamageGivesAMapOrTheDomainErrorNeverACrash()
    {
        RequireTools();
        var volume = volumes.Get(DamagedClusterSize);
        var layout = new NtfsTestLayout(volume.Image);
        byte[] image = File.ReadAllBytes(volume.Image);
        // Whole structures, and the run lists alone, so that damage there is not always caught first by a magic or a fixup.
        (long Start, int Length)[] targets =
        [
            (0, 512),
            (layout.RecordOffset(0), layout.RecordSize),
            (layout.RecordOffset(2), layout.RecordSize),
            (layout.RecordOffset(3), layout.RecordSize),
            (layout.RecordOffset(6), layout.RecordSize),
            (layout.AttributeOffset(0, 0x80) + 0x10, 0x40),
            (layout.AttributeOffset(6, 0x80) + 0x10, 0x40),
        ];
        var random = new Random(6);
        var module = new LiveImager.Formats.FileSystems.Ntfs.NtfsModule();
        int refused = 0;
        for (int round = 0; round < 400; round++)
        {
            var (start, length) = targets[random.Next(targets.Length)];
            byte[] saved = image.AsSpan((int)start, length).ToArray();
            for (int i = random.Next(1, 6); i > 0; i--)
            {
                image[start + random.Next(length)] = (byte)random.Next(256);
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var analysis = module.Analyze(new StreamBlockSource(new MemoryStream(image, writable: false)));
                Assert.True(analysis.Map.BlockCount <= layout.ClusterCount, $"round {round}: {analysis.Map.BlockCount} blocks");
            }
            catch (DiskFormatException)
            {
                refused++;
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"round {round} took {clock.Elapsed}");
            saved.CopyTo(image, start);
        }
        Assert.True(refused > 0, "no damage was detected at all");
    }

    /// <summary>Damaged metadata: the documented message, and the fallback of a whole copy that still names NTFS.</summary>
    private static void AssertRefused(string image, string message)
    {
        var analysis = Analyze(image);

        Assert.Equal(FileSystemKind.Ntfs, analysis.Kind);
        Assert.Equal("whole copy: ntfs metadata could not be trusted", analysis.Method);
        Assert.Equal(analysis.Map.BlockCount, analysis.Map.UsedCount);
        Assert.Equal(message, Assert.Single(analysis.Warnings));
    }

    /// <summary>A 4096-byte $LogFile restart page (RESTART_PAGE_HEADER, RESTART_AREA, one LOG_CLIENT_RECORD) for a
    /// 2 MiB journal, with its update sequence applied as on disk.</summary>
    private static byte[] RestartPage(ushort flags)
    {
        var page = new byte[4096];
        var span = page.AsSpan();
        "RSTR"u8.CopyTo(span);
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x04..], 0x1E);   // usa_ofs
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x06..], 9);      // usa_count
        BinaryPrimitives.WriteUInt32LittleEndian(span[0x10..], 4096);   // system_page_size
        BinaryPrimitives.WriteUInt32LittleEndian(span[0x14..], 4096);   // log_page_size
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x18..], 0x30);   // restart_area_offset
        BinaryPrimitives.WriteInt16LittleEndian(span[0x1A..], 1);       // minor_ver
        BinaryPrimitives.WriteInt16LittleEndian(span[0x1C..], 1);       // major_ver
        var area = span[0x30..];
        BinaryPrimitives.WriteInt64LittleEndian(area, 0x1000);          // current_lsn
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x08..], 1);      // log_clients
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x0A..], 0xFFFF); // client_free_list
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x0C..], 0);      // client_in_use_list
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x0E..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(area[0x10..], 45);     // seq_number_bits: 67 - 22 bits of 2 MiB
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x14..], 0xE0);   // restart_area_length
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x16..], 0x40);   // client_array_offset
        BinaryPrimitives.WriteInt64LittleEndian(area[0x18..], 2 << 20); // file_size
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x24..], 0x30);   // log_record_header_length
        BinaryPrimitives.WriteUInt16LittleEndian(area[0x26..], 0x40);   // log_page_data_offset
        var client = area[0x40..];
        BinaryPrimitives.WriteInt64LittleEndian(client[0x08..], 0x1000);  // client_restart_lsn
        BinaryPrimitives.WriteUInt16LittleEndian(client[0x10..], 0xFFFF); // prev_client
        BinaryPrimitives.WriteUInt16LittleEndian(client[0x12..], 0xFFFF); // next_client
        BinaryPrimitives.WriteUInt32LittleEndian(client[0x1C..], 8);      // client_name_length
        "N\0T\0F\0S\0"u8.CopyTo(client[0x20..]);
        const ushort Sequence = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(span[0x1E..], Sequence);
        for (int stride = 0; stride < 8; stride++)
        {
            int end = (stride + 1) * 512 - 2;
            span.Slice(end, 2).CopyTo(span[(0x20 + 2 * stride)..]);
            BinaryPrimitives.WriteUInt16LittleEndian(span[end..], Sequence);
        }
        return page;
    }

    private static long BitmapMappingPairs(NtfsTestLayout layout)
    {
        long attribute = layout.AttributeOffset(6, 0x80);
        return attribute + BinaryPrimitives.ReadUInt16LittleEndian(layout.Bytes(attribute + 0x20, 2));
    }

    private static FileSystemAnalysis Analyze(string image)
    {
        using var stream = File.OpenRead(image);
        return FileSystemDetector.Analyze(new StreamBlockSource(stream));
    }

    private static string? Blkid(string image, string tag)
    {
        string value = ExternalTool.RunUnchecked("blkid", null, "-p", "-o", "value", "-s", tag, image).StandardOutput.Trim();
        return value.Length == 0 ? null : value;
    }

    private static void RequireTools()
    {
        Privileges.RequireRoot("mounts NTFS images through FUSE, which needs root here");
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("ntfs-3g", "ntfs-3g");
        ExternalTool.Require("ntfsfix", "ntfs-3g");
    }
}
