using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.Partitions;

/// <summary>One entry of a GPT partition entry array (UEFI 2.10 §5.3.3, table 5-6).</summary>
/// <param name="Name">The partition name, decoded from UTF-16LE up to the first NUL.</param>
public readonly record struct GptPartitionEntry(
    Guid PartitionTypeGuid,
    Guid UniquePartitionGuid,
    ulong StartingLba,
    ulong EndingLba,
    ulong Attributes,
    string Name)
{
    /// <summary>The bytes the specification defines; SizeOfPartitionEntry may be larger.</summary>
    public const int MinimumSize = 0x80;

    /// <summary>Offset of <see cref="StartingLba"/> inside the entry, for error messages.</summary>
    public const int StartingLbaOffset = 0x20; // UEFI 2.10 table 5-6 StartingLBA

    /// <summary>Offset of <see cref="EndingLba"/> inside the entry, for error messages.</summary>
    public const int EndingLbaOffset = 0x28; // UEFI 2.10 table 5-6 EndingLBA

    private const int PartitionTypeGuidOffset = 0x00; // UEFI 2.10 table 5-6 PartitionTypeGUID
    private const int UniquePartitionGuidOffset = 0x10; // UniquePartitionGUID
    private const int AttributesOffset = 0x30; // Attributes
    private const int PartitionNameOffset = 0x38; // PartitionName, 36 UTF-16LE code units
    private const int PartitionNameLength = 0x48;

    /// <summary>True for an unused entry (type GUID all zero).</summary>
    public bool IsUnused => PartitionTypeGuid == Guid.Empty;

    public static GptPartitionEntry Parse(ReadOnlySpan<byte> entry)
    {
        string name = Encoding.Unicode.GetString(entry.Slice(PartitionNameOffset, PartitionNameLength));
        int nul = name.IndexOf('\0');
        return new GptPartitionEntry(
            new Guid(entry.Slice(PartitionTypeGuidOffset, 16)),
            new Guid(entry.Slice(UniquePartitionGuidOffset, 16)),
            BinaryPrimitives.ReadUInt64LittleEndian(entry[StartingLbaOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(entry[EndingLbaOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(entry[AttributesOffset..]),
            nul < 0 ? name : name[..nul]);
    }
}
