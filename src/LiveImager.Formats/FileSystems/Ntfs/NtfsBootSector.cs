using System.Buffers.Binary;
using System.Numerics;

namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>The NTFS boot sector: its BIOS parameter block says where the MFT is and how big clusters are.</summary>
/// <remarks>Offsets from ntfs-3g's <c>NTFS_BOOT_SECTOR</c> (include/ntfs-3g/layout.h). NTFS keeps no free-cluster count
/// here or anywhere else; $Bitmap is the only record of free space.</remarks>
public readonly struct NtfsBootSector
{
    /// <summary>Bytes of the boot sector this parser reads.</summary>
    public const int Size = 512;

    /// <summary>Largest cluster Windows formats (2 MiB, since Windows 10 1709).</summary>
    public const int MaxClusterSize = 2 * 1024 * 1024;

    /// <summary>Largest MFT record accepted; Windows writes 1 KiB or 4 KiB.</summary>
    public const int MaxMftRecordSize = 65536;

    private const int OemIdOffset = 0x03;            // oem_id[8] "NTFS    "
    private const int BytesPerSectorOffset = 0x0B;   // bpb.bytes_per_sector (le16)
    private const int SectorsPerClusterOffset = 0x0D; // bpb.sectors_per_cluster (u8; above 0x80 a negative power of two)
    private const int ReservedSectorsOffset = 0x0E;  // bpb.reserved_sectors (le16), always 0
    private const int FatsOffset = 0x10;             // bpb.fats (u8), always 0
    private const int RootEntriesOffset = 0x11;      // bpb.root_entries (le16), always 0
    private const int Sectors16Offset = 0x13;        // bpb.sectors (le16), always 0
    private const int SectorsPerFatOffset = 0x16;    // bpb.sectors_per_fat (le16), always 0
    private const int LargeSectorsOffset = 0x20;     // bpb.large_sectors (le32), always 0
    private const int TotalSectorsOffset = 0x28;     // number_of_sectors (sle64): the volume, without the backup boot sector
    private const int MftLcnOffset = 0x30;           // mft_lcn (sle64)
    private const int MftMirrLcnOffset = 0x38;       // mftmirr_lcn (sle64)
    private const int ClustersPerMftRecordOffset = 0x40; // clusters_per_mft_record (s8; negative: 2^-n bytes)
    private const int SerialOffset = 0x48;           // volume_serial_number (le64)

    private static ReadOnlySpan<byte> OemId => "NTFS    "u8;

    private readonly ushort _reservedSectors;
    private readonly byte _fats;
    private readonly ushort _rootEntries;
    private readonly ushort _sectors16;
    private readonly ushort _sectorsPerFat;
    private readonly uint _largeSectors;

    private NtfsBootSector(ReadOnlySpan<byte> sector)
    {
        BytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(sector[BytesPerSectorOffset..]);
        SectorsPerClusterRaw = sector[SectorsPerClusterOffset];
        _reservedSectors = BinaryPrimitives.ReadUInt16LittleEndian(sector[ReservedSectorsOffset..]);
        _fats = sector[FatsOffset];
        _rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(sector[RootEntriesOffset..]);
        _sectors16 = BinaryPrimitives.ReadUInt16LittleEndian(sector[Sectors16Offset..]);
        _sectorsPerFat = BinaryPrimitives.ReadUInt16LittleEndian(sector[SectorsPerFatOffset..]);
        _largeSectors = BinaryPrimitives.ReadUInt32LittleEndian(sector[LargeSectorsOffset..]);
        TotalSectors = BinaryPrimitives.ReadInt64LittleEndian(sector[TotalSectorsOffset..]);
        MftLcn = BinaryPrimitives.ReadInt64LittleEndian(sector[MftLcnOffset..]);
        MftMirrLcn = BinaryPrimitives.ReadInt64LittleEndian(sector[MftMirrLcnOffset..]);
        ClustersPerMftRecordRaw = (sbyte)sector[ClustersPerMftRecordOffset];
        SerialNumber = BinaryPrimitives.ReadUInt64LittleEndian(sector[SerialOffset..]);
    }

    public ushort BytesPerSector { get; }

    /// <summary>The sectors-per-cluster byte as stored.</summary>
    public byte SectorsPerClusterRaw { get; }

    /// <summary>Sectors in the volume; the backup boot sector lies just past them.</summary>
    public long TotalSectors { get; }

    /// <summary>First cluster of the MFT.</summary>
    public long MftLcn { get; }

    /// <summary>First cluster of the MFT mirror.</summary>
    public long MftMirrLcn { get; }

    /// <summary>The clusters-per-MFT-record byte as stored.</summary>
    public sbyte ClustersPerMftRecordRaw { get; }

    public ulong SerialNumber { get; }

    /// <summary>Sectors per cluster, decoded: values above 0x80 mean 2^(256 - value).</summary>
    public long SectorsPerCluster => SectorsPerClusterRaw <= 0x80
        ? SectorsPerClusterRaw
        : 256 - SectorsPerClusterRaw < 31 ? 1L << (256 - SectorsPerClusterRaw) : 0;

    /// <summary>Bytes per cluster; valid after <see cref="Validate"/>.</summary>
    public int ClusterSize => (int)(BytesPerSector * SectorsPerCluster);

    /// <summary>Bytes per MFT record; valid after <see cref="Validate"/>.</summary>
    public int MftRecordSize => ClustersPerMftRecordRaw > 0
        ? ClustersPerMftRecordRaw * ClusterSize
        : 1 << -ClustersPerMftRecordRaw;

    /// <summary>Clusters in the volume: sectors past the last whole cluster belong to no cluster.</summary>
    public long ClusterCount => TotalSectors / SectorsPerCluster;

    /// <summary>The serial number as blkid prints it: 16 upper-case hex digits.</summary>
    public string SerialText => SerialNumber.ToString("X16");

    /// <summary>True when <paramref name="head"/> carries the NTFS OEM name.</summary>
    public static bool HasSignature(ReadOnlySpan<byte> head) =>
        head.Length >= Size && head.Slice(OemIdOffset, OemId.Length).SequenceEqual(OemId);

    public static NtfsBootSector Parse(ReadOnlySpan<byte> sector) => new(sector[..Size]);

    /// <summary>Throws unless the geometry is one NTFS can have and the volume fits in <paramref name="partitionBytes"/>.</summary>
    public void Validate(long partitionBytes)
    {
        const string Structure = "NTFS boot sector";
        if (BytesPerSector is < 256 or > 4096 || !BitOperations.IsPow2(BytesPerSector))
        {
            throw new DiskFormatException(Structure, "bytes_per_sector", BytesPerSector, BytesPerSectorOffset,
                "must be a power of two from 256 to 4096");
        }
        long sectorsPerCluster = SectorsPerCluster;
        if (sectorsPerCluster == 0 || !BitOperations.IsPow2(sectorsPerCluster) || sectorsPerCluster * BytesPerSector > MaxClusterSize)
        {
            throw new DiskFormatException(Structure, "sectors_per_cluster", $"0x{SectorsPerClusterRaw:X2}", SectorsPerClusterOffset,
                $"gives no power-of-two cluster size up to {MaxClusterSize} bytes");
        }
        if (ClusterSize < 512)
        {
            throw new DiskFormatException(Structure, "sectors_per_cluster", $"0x{SectorsPerClusterRaw:X2}", SectorsPerClusterOffset,
                $"gives {ClusterSize}-byte clusters; clusters under 512 bytes are not supported");
        }
        CheckZero(_reservedSectors, "reserved_sectors", ReservedSectorsOffset);
        CheckZero(_fats, "fats", FatsOffset);
        CheckZero(_rootEntries, "root_entries", RootEntriesOffset);
        CheckZero(_sectors16, "sectors", Sectors16Offset);
        CheckZero(_sectorsPerFat, "sectors_per_fat", SectorsPerFatOffset);
        CheckZero(_largeSectors, "large_sectors", LargeSectorsOffset);
        bool recordSizeValid = ClustersPerMftRecordRaw > 0
            ? BitOperations.IsPow2(ClustersPerMftRecordRaw) && (long)ClustersPerMftRecordRaw * ClusterSize <= MaxMftRecordSize
            : ClustersPerMftRecordRaw is <= -9 and >= -16;
        if (!recordSizeValid || MftRecordSize < BytesPerSector)
        {
            throw new DiskFormatException(Structure, "clusters_per_mft_record", ClustersPerMftRecordRaw, ClustersPerMftRecordOffset,
                $"must give a power-of-two MFT record of {NtfsUpdateSequence.Stride}..{MaxMftRecordSize} bytes, at least one sector");
        }
        if (TotalSectors <= 0 || TotalSectors > partitionBytes / BytesPerSector || ClusterCount == 0)
        {
            throw new DiskFormatException(Structure, "number_of_sectors", TotalSectors, TotalSectorsOffset,
                $"a volume of that many {BytesPerSector}-byte sectors does not fit in the {partitionBytes}-byte partition");
        }
        if (ClusterCount > UsedBlockMap.MaxBlocks)
        {
            throw new DiskFormatException(Structure, "number_of_sectors", TotalSectors, TotalSectorsOffset,
                $"gives {ClusterCount} clusters; at most {UsedBlockMap.MaxBlocks} are supported");
        }
        CheckCluster(MftLcn, "mft_lcn", MftLcnOffset);
        CheckCluster(MftMirrLcn, "mftmirr_lcn", MftMirrLcnOffset);
    }

    private void CheckCluster(long lcn, string field, int offset)
    {
        if (lcn <= 0 || lcn >= ClusterCount)
        {
            throw new DiskFormatException("NTFS boot sector", field, lcn, offset,
                $"must be a cluster inside the volume's {ClusterCount} clusters, after the boot sector");
        }
    }

    private static void CheckZero(long value, string field, int offset)
    {
        if (value != 0)
        {
            throw new DiskFormatException("NTFS boot sector", field, value, offset, "must be 0 on NTFS");
        }
    }
}
