using System.Buffers.Binary;

namespace LiveImager.Formats.Partitions;

/// <summary>One 16-byte partition record of an MBR or an EBR (UEFI 2.10 §5.2.1, table 5-2).</summary>
/// <param name="Status">Boot indicator: 0x80 bootable, 0x00 not; anything else means the sector is not a table.</param>
/// <param name="Type">Partition type (OSType), such as 0x83, 0x05 for an extended partition, 0xEE for GPT protection.</param>
/// <param name="FirstLba">First sector; in an EBR relative to that EBR (data) or to the extended partition (link).</param>
/// <param name="SectorCount">Length in sectors.</param>
public readonly record struct MbrPartitionRecord(byte Status, byte Type, uint FirstLba, uint SectorCount)
{
    /// <summary>Size of one record in bytes.</summary>
    public const int Size = 0x10;

    /// <summary>Offset of <see cref="FirstLba"/> inside the record, for error messages.</summary>
    public const int FirstLbaOffset = 0x08; // UEFI 2.10 table 5-2 StartingLBA

    /// <summary>Offset of <see cref="SectorCount"/> inside the record, for error messages and relocation.</summary>
    public const int SectorCountOffset = 0x0C; // UEFI 2.10 table 5-2 SizeInLBA

    private const int StatusOffset = 0x00; // UEFI 2.10 table 5-2 BootIndicator
    private const int TypeOffset = 0x04; // UEFI 2.10 table 5-2 OSType

    /// <summary>The type of the single record of a protective MBR (UEFI 2.10 §5.2.3).</summary>
    public const byte GptProtectiveType = 0xEE;

    /// <summary>True for a record that describes nothing (Linux skips records with no sectors).</summary>
    public bool IsEmpty => Type == 0 || SectorCount == 0;

    /// <summary>True for the DOS, Windows (LBA) and Linux extended partition types, which hold a chain of EBRs.</summary>
    public bool IsExtended => Type is 0x05 or 0x0F or 0x85;

    /// <summary>True when the boot indicator holds one of the two values a partition table may hold.</summary>
    public bool HasValidStatus => Status is 0x00 or 0x80;

    public static MbrPartitionRecord Parse(ReadOnlySpan<byte> record) => new(
        record[StatusOffset],
        record[TypeOffset],
        BinaryPrimitives.ReadUInt32LittleEndian(record[FirstLbaOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(record[SectorCountOffset..]));
}
