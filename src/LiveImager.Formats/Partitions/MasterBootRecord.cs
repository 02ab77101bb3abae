using System.Buffers.Binary;

namespace LiveImager.Formats.Partitions;

/// <summary>The first 512 bytes of an MBR or EBR sector: boot code, four partition records, the 0xAA55 signature
/// (UEFI 2.10 §5.2.1, table 5-1).</summary>
public readonly struct MasterBootRecord
{
    /// <summary>Bytes an MBR occupies, whatever the sector size.</summary>
    public const int Size = 0x200;

    /// <summary>Number of partition records.</summary>
    public const int RecordCount = 4;

    /// <summary>Offset of the first partition record.</summary>
    public const int PartitionRecordOffset = 0x1BE; // UEFI 2.10 table 5-1 PartitionRecord

    private const int SignatureOffset = 0x1FE; // UEFI 2.10 table 5-1 Signature
    private const ushort BootSignature = 0xAA55;

    // Volume boot sectors carry the same 0xAA55 signature; these names mark a filesystem on the whole disk.
    private const int OemNameOffset = 0x03; // NTFS and exFAT boot sector OEM name
    private const int Fat16FileSystemTypeOffset = 0x36; // FAT12/16 BS_FilSysType
    private const int Fat32FileSystemTypeOffset = 0x52; // FAT32 BS_FilSysType

    private readonly MbrPartitionRecord[] _records;

    private MasterBootRecord(ushort signature, MbrPartitionRecord[] records, bool isFileSystemBootSector)
    {
        Signature = signature;
        _records = records;
        IsFileSystemBootSector = isFileSystemBootSector;
    }

    /// <summary>The signature word as read.</summary>
    public ushort Signature { get; }

    /// <summary>True when the sector ends with 0xAA55.</summary>
    public bool HasSignature => Signature == BootSignature;

    /// <summary>True when the sector is a FAT, exFAT or NTFS boot sector rather than a partition table.</summary>
    public bool IsFileSystemBootSector { get; }

    /// <summary>The four partition records, in slot order.</summary>
    public IReadOnlyList<MbrPartitionRecord> Records => _records;

    /// <summary>Byte offset of record <paramref name="slot"/> (0..3) inside the sector.</summary>
    public static int RecordOffset(int slot) => PartitionRecordOffset + slot * MbrPartitionRecord.Size;

    public static MasterBootRecord Parse(ReadOnlySpan<byte> sector)
    {
        var records = new MbrPartitionRecord[RecordCount];
        for (int slot = 0; slot < RecordCount; slot++)
        {
            records[slot] = MbrPartitionRecord.Parse(sector.Slice(RecordOffset(slot), MbrPartitionRecord.Size));
        }
        bool isFileSystem =
            sector.Slice(OemNameOffset, 8).SequenceEqual("NTFS    "u8) ||
            sector.Slice(OemNameOffset, 8).SequenceEqual("EXFAT   "u8) ||
            sector.Slice(Fat16FileSystemTypeOffset, 5).SequenceEqual("FAT12"u8) ||
            sector.Slice(Fat16FileSystemTypeOffset, 5).SequenceEqual("FAT16"u8) ||
            sector.Slice(Fat32FileSystemTypeOffset, 5).SequenceEqual("FAT32"u8);
        return new MasterBootRecord(BinaryPrimitives.ReadUInt16LittleEndian(sector[SignatureOffset..]), records, isFileSystem);
    }
}
