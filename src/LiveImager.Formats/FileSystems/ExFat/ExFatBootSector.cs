using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace LiveImager.Formats.FileSystems.ExFat;

/// <summary>The exFAT main boot sector: where the FAT, the cluster heap and the root directory are.</summary>
/// <remarks>Offsets and rules from Microsoft's "exFAT file system specification", section 3.1.</remarks>
public readonly struct ExFatBootSector
{
    /// <summary>Bytes of the boot sector this parser reads; every field lies in the first 512 whatever the sector size.</summary>
    public const int Size = 512;

    /// <summary>Sectors in one boot region: boot sector, 8 extended boot sectors, OEM parameters, reserved, checksum.</summary>
    public const int BootRegionSectors = 12;

    private const string Structure = "exfat boot sector";

    private const int FileSystemNameOffset = 0x03;           // FileSystemName = "EXFAT   "
    private const int MustBeZeroOffset = 0x0B;               // MustBeZero, 53 bytes where FAT keeps its BPB
    private const int MustBeZeroLength = 53;
    private const int VolumeLengthOffset = 0x48;             // VolumeLength, in sectors
    private const int FatOffsetOffset = 0x50;                // FatOffset, in sectors
    private const int FatLengthOffset = 0x54;                // FatLength, in sectors
    private const int ClusterHeapOffsetOffset = 0x58;        // ClusterHeapOffset, in sectors
    private const int ClusterCountOffset = 0x5C;             // ClusterCount
    private const int FirstClusterOfRootOffset = 0x60;       // FirstClusterOfRootDirectory
    private const int VolumeSerialNumberOffset = 0x64;       // VolumeSerialNumber
    private const int FileSystemRevisionOffset = 0x68;       // FileSystemRevision: minor byte, then major byte
    private const int VolumeFlagsOffset = 0x6A;              // VolumeFlags
    private const int BytesPerSectorShiftOffset = 0x6C;      // BytesPerSectorShift: 9..12
    private const int SectorsPerClusterShiftOffset = 0x6D;   // SectorsPerClusterShift: 0..25 - BytesPerSectorShift
    private const int NumberOfFatsOffset = 0x6E;             // NumberOfFats: 1, or 2 for TexFAT
    private const int PercentInUseOffset = 0x70;             // PercentInUse: 0..100, or 0xFF for unknown
    private const int BootSignatureOffset = 0x1FE;           // BootSignature = 0xAA55

    private static ReadOnlySpan<byte> FileSystemName => "EXFAT   "u8;

    /// <summary>The highest valid ClusterCount (spec 3.1.9: 2^32 - 11).</summary>
    public const long MaxClusterCount = 0xFFFFFFF5;

    /// <summary>VolumeFlags bit 1: the volume was not cleanly unmounted.</summary>
    private const int VolumeDirtyFlag = 0x0002;

    /// <summary>PercentInUse's value for "not known".</summary>
    public const int PercentInUseUnknown = 0xFF;

    private ExFatBootSector(ReadOnlySpan<byte> sector)
    {
        HasName = sector.Slice(FileSystemNameOffset, FileSystemName.Length).SequenceEqual(FileSystemName);
        MustBeZeroIsZero = !sector.Slice(MustBeZeroOffset, MustBeZeroLength).ContainsAnyExcept((byte)0);
        VolumeLength = BinaryPrimitives.ReadUInt64LittleEndian(sector[VolumeLengthOffset..]);
        FatOffset = BinaryPrimitives.ReadUInt32LittleEndian(sector[FatOffsetOffset..]);
        FatLength = BinaryPrimitives.ReadUInt32LittleEndian(sector[FatLengthOffset..]);
        ClusterHeapOffset = BinaryPrimitives.ReadUInt32LittleEndian(sector[ClusterHeapOffsetOffset..]);
        ClusterCount = BinaryPrimitives.ReadUInt32LittleEndian(sector[ClusterCountOffset..]);
        FirstClusterOfRootDirectory = BinaryPrimitives.ReadUInt32LittleEndian(sector[FirstClusterOfRootOffset..]);
        VolumeSerialNumber = BinaryPrimitives.ReadUInt32LittleEndian(sector[VolumeSerialNumberOffset..]);
        FileSystemRevision = BinaryPrimitives.ReadUInt16LittleEndian(sector[FileSystemRevisionOffset..]);
        VolumeFlags = BinaryPrimitives.ReadUInt16LittleEndian(sector[VolumeFlagsOffset..]);
        BytesPerSectorShift = sector[BytesPerSectorShiftOffset];
        SectorsPerClusterShift = sector[SectorsPerClusterShiftOffset];
        NumberOfFats = sector[NumberOfFatsOffset];
        PercentInUse = sector[PercentInUseOffset];
        BootSignature = BinaryPrimitives.ReadUInt16LittleEndian(sector[BootSignatureOffset..]);
    }

    public bool HasName { get; }
    public bool MustBeZeroIsZero { get; }
    public ulong VolumeLength { get; }
    public uint FatOffset { get; }
    public uint FatLength { get; }
    public uint ClusterHeapOffset { get; }
    public uint ClusterCount { get; }
    public uint FirstClusterOfRootDirectory { get; }
    public uint VolumeSerialNumber { get; }
    public int FileSystemRevision { get; }
    public int VolumeFlags { get; }
    public int BytesPerSectorShift { get; }
    public int SectorsPerClusterShift { get; }
    public int NumberOfFats { get; }
    public int PercentInUse { get; }
    public ushort BootSignature { get; }

    /// <summary>True when the VolumeDirty flag is set.</summary>
    public bool IsDirty => (VolumeFlags & VolumeDirtyFlag) != 0;

    public int BytesPerSector => 1 << BytesPerSectorShift;

    public int ClusterBytes => 1 << (BytesPerSectorShift + SectorsPerClusterShift);

    public long VolumeBytes => (long)VolumeLength << BytesPerSectorShift;

    public long FatStartBytes => (long)FatOffset << BytesPerSectorShift;

    public long ClusterHeapStartBytes => (long)ClusterHeapOffset << BytesPerSectorShift;

    /// <summary>Byte offset of cluster <paramref name="cluster"/> (numbered from 2).</summary>
    public long ClusterStartBytes(long cluster) => ClusterHeapStartBytes + ((cluster - 2) * ClusterBytes);

    /// <summary>True when <paramref name="cluster"/> is one of the heap's clusters, 2 to ClusterCount + 1.</summary>
    public bool IsHeapCluster(long cluster) => cluster >= 2 && cluster <= ClusterCount + 1L;

    public static ExFatBootSector Parse(ReadOnlySpan<byte> sector) => new(sector[..Size]);

    /// <summary>True when <paramref name="head"/> carries the exFAT name and boot signature.</summary>
    public static bool LooksLikeExFat(ReadOnlySpan<byte> head)
    {
        if (head.Length < Size)
        {
            return false;
        }
        var boot = new ExFatBootSector(head);
        return boot.HasName && boot.BootSignature == 0xAA55;
    }

    /// <summary>Throws unless the sector size is one exFAT allows; checked first because it sizes the boot region read.</summary>
    public void ValidateSectorSize()
    {
        if (BytesPerSectorShift is < 9 or > 12)
        {
            Fail("BytesPerSectorShift", BytesPerSectorShift, BytesPerSectorShiftOffset, "must be 9..12 (512 to 4096-byte sectors)");
        }
    }

    /// <summary>Throws <see cref="DiskFormatException"/> unless the regions are consistent and fit in
    /// <paramref name="partitionBytes"/>.</summary>
    public void Validate(long partitionBytes)
    {
        if (!HasName)
        {
            Fail("FileSystemName", "?", FileSystemNameOffset, "is not \"EXFAT   \"");
        }
        if (BootSignature != 0xAA55)
        {
            Fail("BootSignature", $"0x{BootSignature:X4}", BootSignatureOffset, "must be 0xAA55");
        }
        if (!MustBeZeroIsZero)
        {
            Fail("MustBeZero", "non-zero", MustBeZeroOffset, "must be all zero (is this a FAT boot sector named EXFAT?)");
        }
        ValidateSectorSize();
        if (SectorsPerClusterShift > 25 - BytesPerSectorShift)
        {
            Fail("SectorsPerClusterShift", SectorsPerClusterShift, SectorsPerClusterShiftOffset,
                $"makes clusters larger than 32 MiB (at most {25 - BytesPerSectorShift} with {BytesPerSector}-byte sectors)");
        }
        if (FileSystemRevision >> 8 != 1)
        {
            Fail("FileSystemRevision", $"{FileSystemRevision >> 8}.{FileSystemRevision & 0xFF:D2}", FileSystemRevisionOffset,
                "is not revision 1.x, the only one defined");
        }
        if (NumberOfFats is not (1 or 2))
        {
            Fail("NumberOfFats", NumberOfFats, NumberOfFatsOffset, "must be 1, or 2 for TexFAT");
        }
        if (FatOffset < 2 * BootRegionSectors)
        {
            Fail("FatOffset", FatOffset, FatOffsetOffset, $"lies inside the two {BootRegionSectors}-sector boot regions");
        }
        long fatRegionEnd = ((long)FatOffset + ((long)FatLength * NumberOfFats)) << BytesPerSectorShift;
        if (fatRegionEnd > partitionBytes)
        {
            Fail("FatLength", FatLength, FatLengthOffset,
                $"{NumberOfFats} FAT(s) end at byte {fatRegionEnd}, past the {partitionBytes}-byte partition");
        }
        if (VolumeLength > (ulong)(partitionBytes >> BytesPerSectorShift))
        {
            Fail("VolumeLength", VolumeLength, VolumeLengthOffset,
                $"{BytesPerSector}-byte sectors exceed the {partitionBytes}-byte partition");
        }
        if (ClusterHeapOffset < (long)FatOffset + ((long)FatLength * NumberOfFats))
        {
            Fail("ClusterHeapOffset", ClusterHeapOffset, ClusterHeapOffsetOffset, "lies inside the FAT region");
        }
        if (ClusterCount == 0 || ClusterCount > MaxClusterCount)
        {
            Fail("ClusterCount", ClusterCount, ClusterCountOffset, $"must be 1..{MaxClusterCount}");
        }
        long heapEndSectors = ClusterHeapOffset + ((long)ClusterCount << SectorsPerClusterShift);
        if ((ulong)heapEndSectors > VolumeLength)
        {
            Fail("ClusterCount", ClusterCount, ClusterCountOffset,
                $"clusters end at sector {heapEndSectors}, past the volume's {VolumeLength} sectors");
        }
        // Each cluster, and the two reserved entries, needs a 4-byte FAT entry (spec 3.1.6).
        if (((long)FatLength << BytesPerSectorShift) < (ClusterCount + 2L) * 4)
        {
            Fail("FatLength", FatLength, FatLengthOffset, $"is too short for {ClusterCount} clusters");
        }
        if (!IsHeapCluster(FirstClusterOfRootDirectory))
        {
            Fail("FirstClusterOfRootDirectory", FirstClusterOfRootDirectory, FirstClusterOfRootOffset,
                $"lies outside clusters 2..{ClusterCount + 1L}");
        }
    }

    [DoesNotReturn]
    private static void Fail(string field, object value, int offset, string problem) =>
        throw new DiskFormatException(Structure, field, value, offset, problem);
}
