using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace LiveImager.Formats.FileSystems.Fat;

/// <summary>The FAT12/16/32 boot sector and its BIOS Parameter Block, with the geometry the Microsoft FAT spec derives.</summary>
/// <remarks>Field names and offsets follow "Microsoft Extensible Firmware Initiative FAT32 File System Specification"
/// 1.03, section 3. The FAT type is decided by the count of clusters (section 3.5), never by BS_FilSysType.</remarks>
public readonly struct FatBootSector
{
    /// <summary>Bytes of the boot sector this parser reads; every field lies in the first 512 whatever the sector size.</summary>
    public const int Size = 512;

    private const string Structure = "FAT boot sector";

    private const int JmpBootOffset = 0x00;        // BS_jmpBoot: EB xx 90 or E9 xx xx
    private const int BytsPerSecOffset = 0x0B;     // BPB_BytsPerSec
    private const int SecPerClusOffset = 0x0D;     // BPB_SecPerClus
    private const int RsvdSecCntOffset = 0x0E;     // BPB_RsvdSecCnt
    private const int NumFatsOffset = 0x10;        // BPB_NumFATs
    private const int RootEntCntOffset = 0x11;     // BPB_RootEntCnt
    private const int TotSec16Offset = 0x13;       // BPB_TotSec16
    private const int MediaOffset = 0x15;          // BPB_Media
    private const int FatSz16Offset = 0x16;        // BPB_FATSz16
    private const int TotSec32Offset = 0x20;       // BPB_TotSec32
    private const int Fat16BootSigOffset = 0x26;   // BS_BootSig (FAT12/16)
    private const int Fat16VolIdOffset = 0x27;     // BS_VolID (FAT12/16)
    private const int Fat16VolLabOffset = 0x2B;    // BS_VolLab (FAT12/16)
    private const int FatSz32Offset = 0x24;        // BPB_FATSz32
    private const int FsVerOffset = 0x2A;          // BPB_FSVer
    private const int RootClusOffset = 0x2C;       // BPB_RootClus
    private const int FsInfoOffset = 0x30;         // BPB_FSInfo
    private const int Fat32BootSigOffset = 0x42;   // BS_BootSig (FAT32)
    private const int Fat32VolIdOffset = 0x43;     // BS_VolID (FAT32)
    private const int Fat32VolLabOffset = 0x47;    // BS_VolLab (FAT32)
    private const int SignatureOffset = 0x1FE;     // Signature_word 0x55 0xAA, at 510 whatever BPB_BytsPerSec says
    private const int VolLabLength = 11;

    /// <summary>Below this many clusters a volume is FAT12 (spec section 3.5).</summary>
    public const long MaxFat12Clusters = 4084;

    /// <summary>Below this many clusters (and above FAT12's) a volume is FAT16 (spec section 3.5).</summary>
    public const long MaxFat16Clusters = 65524;

    /// <summary>FAT32 cluster numbers are 28 bits; 0x0FFFFFF7 and above are markers (spec section 4).</summary>
    public const long MaxFat32Clusters = 0x0FFFFFF5;

    private FatBootSector(ReadOnlySpan<byte> sector)
    {
        JumpByte = sector[JmpBootOffset];
        JumpNop = sector[JmpBootOffset + 2];
        BytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(sector[BytsPerSecOffset..]);
        SectorsPerCluster = sector[SecPerClusOffset];
        ReservedSectors = BinaryPrimitives.ReadUInt16LittleEndian(sector[RsvdSecCntOffset..]);
        NumberOfFats = sector[NumFatsOffset];
        RootEntryCount = BinaryPrimitives.ReadUInt16LittleEndian(sector[RootEntCntOffset..]);
        TotalSectors16 = BinaryPrimitives.ReadUInt16LittleEndian(sector[TotSec16Offset..]);
        Media = sector[MediaOffset];
        FatSize16 = BinaryPrimitives.ReadUInt16LittleEndian(sector[FatSz16Offset..]);
        TotalSectors32 = BinaryPrimitives.ReadUInt32LittleEndian(sector[TotSec32Offset..]);
        FatSize32 = BinaryPrimitives.ReadUInt32LittleEndian(sector[FatSz32Offset..]);
        FsVersion = BinaryPrimitives.ReadUInt16LittleEndian(sector[FsVerOffset..]);
        RootCluster = BinaryPrimitives.ReadUInt32LittleEndian(sector[RootClusOffset..]);
        FsInfoSector = BinaryPrimitives.ReadUInt16LittleEndian(sector[FsInfoOffset..]);
        Signature = BinaryPrimitives.ReadUInt16LittleEndian(sector[SignatureOffset..]);

        FatSectors = FatSize16 != 0 ? FatSize16 : FatSize32;
        TotalSectors = TotalSectors16 != 0 ? TotalSectors16 : TotalSectors32;
        RootDirSectors = BytesPerSector == 0 ? 0 : ((RootEntryCount * 32L) + BytesPerSector - 1) / BytesPerSector;
        FirstDataSector = ReservedSectors + (NumberOfFats * FatSectors) + RootDirSectors;
        ClusterCount = SectorsPerCluster == 0 || TotalSectors < FirstDataSector
            ? 0
            : (TotalSectors - FirstDataSector) / SectorsPerCluster;
        Kind = ClusterCount <= MaxFat12Clusters ? FileSystemKind.Fat12
            : ClusterCount <= MaxFat16Clusters ? FileSystemKind.Fat16
            : FileSystemKind.Fat32;

        // The extended boot signature says whether the serial and label fields exist; its place depends on the BPB
        // layout, which FATSz16 = 0 selects (spec section 3.3: FAT32 has BPB_FATSz16 = 0).
        bool fat32Layout = FatSize16 == 0;
        int bootSigOffset = fat32Layout ? Fat32BootSigOffset : Fat16BootSigOffset;
        byte bootSig = sector[bootSigOffset];
        if (bootSig is 0x28 or 0x29)
        {
            VolumeSerial = BinaryPrimitives.ReadUInt32LittleEndian(sector[(fat32Layout ? Fat32VolIdOffset : Fat16VolIdOffset)..]);
        }
        if (bootSig == 0x29)
        {
            BootLabel = FatDirectoryEntry.DecodeShortName(
                sector.Slice(fat32Layout ? Fat32VolLabOffset : Fat16VolLabOffset, VolLabLength));
        }
    }

    public byte JumpByte { get; }
    public byte JumpNop { get; }
    public int BytesPerSector { get; }
    public int SectorsPerCluster { get; }
    public int ReservedSectors { get; }
    public int NumberOfFats { get; }
    public int RootEntryCount { get; }
    public int TotalSectors16 { get; }
    public byte Media { get; }
    public int FatSize16 { get; }
    public uint TotalSectors32 { get; }
    public uint FatSize32 { get; }
    public int FsVersion { get; }
    public uint RootCluster { get; }
    public int FsInfoSector { get; }
    public ushort Signature { get; }

    /// <summary>BS_VolID when the extended boot signature is present, else null.</summary>
    public uint? VolumeSerial { get; }

    /// <summary>BS_VolLab with trailing spaces removed, when the extended boot signature 0x29 is present.</summary>
    public string? BootLabel { get; }

    /// <summary>Sectors in one FAT: BPB_FATSz16, or BPB_FATSz32 when that is zero.</summary>
    public long FatSectors { get; }

    /// <summary>Sectors in the volume: BPB_TotSec16, or BPB_TotSec32 when that is zero.</summary>
    public long TotalSectors { get; }

    /// <summary>Sectors of the fixed FAT12/16 root directory; zero on FAT32.</summary>
    public long RootDirSectors { get; }

    /// <summary>First sector of cluster 2.</summary>
    public long FirstDataSector { get; }

    /// <summary>Clusters in the data area, numbered 2 to ClusterCount + 1.</summary>
    public long ClusterCount { get; }

    /// <summary>FAT12, FAT16 or FAT32, by the count of clusters.</summary>
    public FileSystemKind Kind { get; }

    /// <summary>Bytes in one cluster.</summary>
    public int ClusterBytes => SectorsPerCluster * BytesPerSector;

    /// <summary>Byte offset of cluster 2 from the start of the volume.</summary>
    public long DataStartBytes => FirstDataSector * BytesPerSector;

    /// <summary>Byte offset of the first FAT from the start of the volume.</summary>
    public long FatStartBytes => (long)ReservedSectors * BytesPerSector;

    /// <summary>Bytes in one FAT.</summary>
    public long FatBytes => FatSectors * BytesPerSector;

    /// <summary>Byte offset of the FAT12/16 root directory.</summary>
    public long RootDirStartBytes => FatStartBytes + (NumberOfFats * FatBytes);

    /// <summary>Bytes of the volume as the BPB describes it.</summary>
    public long VolumeBytes => TotalSectors * BytesPerSector;

    /// <summary>Bits of one FAT entry: 12, 16 or 32.</summary>
    public int FatEntryBits => Kind switch
    {
        FileSystemKind.Fat12 => 12,
        FileSystemKind.Fat16 => 16,
        _ => 32,
    };

    public static FatBootSector Parse(ReadOnlySpan<byte> sector) => new(sector[..Size]);

    /// <summary>True when <paramref name="head"/> looks like a FAT boot sector: a jump, the 0x55AA signature and a BPB
    /// whose fields that every FAT volume shares are sane.</summary>
    /// <remarks>Deliberately looser than <see cref="Validate"/>: a volume that is recognisably FAT but has a bad field
    /// must reach <see cref="Validate"/>, so the technician reads which field was bad instead of "unknown filesystem".
    /// NTFS (BPB_RsvdSecCnt = 0) and exFAT (the BPB is zero) fail here, and so does a boot loader's MBR.</remarks>
    public static bool LooksLikeFat(ReadOnlySpan<byte> head)
    {
        if (head.Length < Size)
        {
            return false;
        }
        var boot = new FatBootSector(head);
        return boot.HasJump && boot.Signature == 0xAA55 && IsValidSectorSize(boot.BytesPerSector)
            && boot.ReservedSectors != 0 && boot.NumberOfFats != 0 && IsValidMedia(boot.Media)
            && boot.TotalSectors != 0;
    }

    /// <summary>Throws <see cref="DiskFormatException"/> unless the BPB describes a volume that fits in
    /// <paramref name="partitionBytes"/> and whose regions and FAT are consistent.</summary>
    public void Validate(long partitionBytes)
    {
        if (!HasJump)
        {
            Fail("BS_jmpBoot", $"0x{JumpByte:X2}", JmpBootOffset, "is not a jump instruction (EB xx 90 or E9 xx xx)");
        }
        if (Signature != 0xAA55)
        {
            Fail("Signature_word", $"0x{Signature:X4}", SignatureOffset, "must be 0xAA55");
        }
        if (!IsValidSectorSize(BytesPerSector))
        {
            Fail("BPB_BytsPerSec", BytesPerSector, BytsPerSecOffset, "must be 512, 1024, 2048 or 4096");
        }
        if (SectorsPerCluster == 0 || !BitOperations.IsPow2(SectorsPerCluster))
        {
            Fail("BPB_SecPerClus", SectorsPerCluster, SecPerClusOffset, "must be a power of two from 1 to 128");
        }
        if (ReservedSectors == 0)
        {
            Fail("BPB_RsvdSecCnt", ReservedSectors, RsvdSecCntOffset, "must be at least 1 (the boot sector)");
        }
        if (NumberOfFats == 0)
        {
            Fail("BPB_NumFATs", NumberOfFats, NumFatsOffset, "must be at least 1");
        }
        if (TotalSectors == 0)
        {
            Fail("BPB_TotSec32", TotalSectors, TotSec32Offset, "both BPB_TotSec16 and BPB_TotSec32 are zero");
        }
        if (FatSectors == 0)
        {
            Fail("BPB_FATSz32", FatSectors, FatSz32Offset, "both BPB_FATSz16 and BPB_FATSz32 are zero");
        }
        string fatSizeField = FatSize16 != 0 ? "BPB_FATSz16" : "BPB_FATSz32";
        int fatSizeOffset = FatSize16 != 0 ? FatSz16Offset : FatSz32Offset;
        long fatRegionEnd = FatStartBytes + (NumberOfFats * FatBytes);
        if (fatRegionEnd > partitionBytes)
        {
            Fail(fatSizeField, FatSectors, fatSizeOffset,
                $"{NumberOfFats} FATs end at byte {fatRegionEnd}, past the {partitionBytes}-byte partition");
        }
        string totalField = TotalSectors16 != 0 ? "BPB_TotSec16" : "BPB_TotSec32";
        int totalOffset = TotalSectors16 != 0 ? TotSec16Offset : TotSec32Offset;
        if (VolumeBytes > partitionBytes)
        {
            Fail(totalField, TotalSectors, totalOffset,
                $"the volume's {VolumeBytes} bytes exceed the {partitionBytes}-byte partition");
        }
        if (FirstDataSector >= TotalSectors || ClusterCount == 0)
        {
            Fail(totalField, TotalSectors, totalOffset,
                $"leaves no data cluster after the {FirstDataSector} sectors of reserved area, FATs and root directory");
        }
        if (Kind == FileSystemKind.Fat32)
        {
            ValidateFat32();
        }
        else if (RootEntryCount == 0)
        {
            Fail("BPB_RootEntCnt", RootEntryCount, RootEntCntOffset,
                $"is zero, but {ClusterCount} clusters make this {Kind.ToName()}, which needs a fixed root directory");
        }
        // Every cluster needs an entry in each FAT (spec section 3.5: the FAT may be longer, never shorter).
        long entriesPerFat = FatBytes * 8 / FatEntryBits;
        if (entriesPerFat < ClusterCount + 2)
        {
            Fail(fatSizeField, FatSectors, fatSizeOffset,
                $"holds {entriesPerFat} entries, fewer than the {ClusterCount + 2} that {ClusterCount} clusters need");
        }
    }

    private void ValidateFat32()
    {
        if (ClusterCount > MaxFat32Clusters)
        {
            Fail("BPB_TotSec32", TotalSectors, TotSec32Offset,
                $"gives {ClusterCount} clusters, more than FAT32's {MaxFat32Clusters}");
        }
        if (FatSize16 != 0)
        {
            Fail("BPB_FATSz16", FatSize16, FatSz16Offset, $"must be zero on FAT32 ({ClusterCount} clusters)");
        }
        if (RootEntryCount != 0)
        {
            Fail("BPB_RootEntCnt", RootEntryCount, RootEntCntOffset, $"must be zero on FAT32 ({ClusterCount} clusters)");
        }
        if (FsVersion != 0)
        {
            Fail("BPB_FSVer", $"0x{FsVersion:X4}", FsVerOffset, "is not version 0.0, the only one defined");
        }
        if (RootCluster < 2 || RootCluster > ClusterCount + 1)
        {
            Fail("BPB_RootClus", RootCluster, RootClusOffset, $"lies outside clusters 2..{ClusterCount + 1}");
        }
    }

    /// <summary>The sector number of FSInfo, or null when BPB_FSInfo says there is none or points outside the reserved area.</summary>
    public int? FsInfoSectorNumber =>
        Kind == FileSystemKind.Fat32 && FsInfoSector is not (0 or 0xFFFF) && FsInfoSector < ReservedSectors
            ? FsInfoSector
            : null;

    private bool HasJump => (JumpByte == 0xEB && JumpNop == 0x90) || JumpByte == 0xE9;

    private static bool IsValidSectorSize(int bytes) => bytes is 512 or 1024 or 2048 or 4096;

    // Spec section 3.1: 0xF0 for removable media, 0xF8..0xFF otherwise.
    private static bool IsValidMedia(byte media) => media == 0xF0 || media >= 0xF8;

    [DoesNotReturn]
    private static void Fail(string field, object value, int offset, string problem) =>
        throw new DiskFormatException(Structure, field, value, offset, problem);
}
