using System.Text;

namespace LiveImager.Formats.FileSystems.Fat;

/// <summary>One 32-byte FAT directory entry, as far as finding the volume label needs it.</summary>
/// <remarks>Microsoft FAT spec 1.03 section 6: DIR_Name at 0x00, DIR_Attr at 0x0B.</remarks>
public readonly struct FatDirectoryEntry
{
    /// <summary>Bytes in one entry.</summary>
    public const int Size = 32;

    private const int NameOffset = 0x00;   // DIR_Name: 8.3 name, or the label when ATTR_VOLUME_ID is set
    private const int AttrOffset = 0x0B;   // DIR_Attr
    private const int NameLength = 11;

    private const byte AttrVolumeId = 0x08;
    private const byte AttrDirectory = 0x10;
    private const byte AttrLongNameMask = 0x3F;
    private const byte AttrLongName = 0x0F;
    private const byte EndOfDirectory = 0x00;   // DIR_Name[0] = 0: this and every later entry are free
    private const byte Deleted = 0xE5;          // DIR_Name[0] = 0xE5: a free (deleted) entry

    private FatDirectoryEntry(ReadOnlySpan<byte> entry)
    {
        FirstNameByte = entry[NameOffset];
        Attributes = entry[AttrOffset];
        Name = DecodeShortName(entry.Slice(NameOffset, NameLength));
    }

    public byte FirstNameByte { get; }
    public byte Attributes { get; }

    /// <summary>DIR_Name decoded, trailing spaces removed.</summary>
    public string Name { get; }

    /// <summary>True for the entry that ends a directory: no entry after it is in use.</summary>
    public bool IsEndOfDirectory => FirstNameByte == EndOfDirectory;

    /// <summary>True for the volume label entry: ATTR_VOLUME_ID without ATTR_DIRECTORY, not a long-name part, not deleted.</summary>
    public bool IsVolumeLabel =>
        FirstNameByte != Deleted
        && (Attributes & AttrLongNameMask) != AttrLongName
        && (Attributes & (AttrVolumeId | AttrDirectory)) == AttrVolumeId;

    public static FatDirectoryEntry Parse(ReadOnlySpan<byte> entry) => new(entry[..Size]);

    /// <summary>An 11-byte blank-padded name as a string; a leading 0x05 stands for 0xE5 (spec section 6.1).</summary>
    /// <remarks>Names are in the OEM code page, which the volume does not record; Latin-1 keeps every byte and is
    /// exact for the ASCII names mkfs.fat and most systems write.</remarks>
    public static string DecodeShortName(ReadOnlySpan<byte> name)
    {
        Span<byte> copy = stackalloc byte[NameLength];
        name[..NameLength].CopyTo(copy);
        if (copy[0] == 0x05)
        {
            copy[0] = Deleted;
        }
        return Encoding.Latin1.GetString(copy).TrimEnd(' ');
    }
}
