using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.FileSystems.Opaque;

/// <summary>The LVM2 physical volume label (<c>struct label_header</c> and <c>struct pv_header</c>, lvm2 lib/format_text/layout.h).</summary>
public readonly struct LvmLabel
{
    /// <summary>LVM writes its label in one of the first four 512-byte sectors (LABEL_SCAN_SECTORS).</summary>
    public const int ScanSectors = 4;

    /// <summary>LVM's sector unit, whatever the device's sector size (SECTOR_SIZE).</summary>
    public const int SectorSize = 512;

    private const int IdOffset = 0x00;       // label_header id[8] "LABELONE"
    private const int SectorOffset = 0x08;   // label_header uint64_t sector_xl: the sector this label is in
    private const int PvOffsetOffset = 0x14; // label_header uint32_t offset_xl: pv_header's offset in this sector
    private const int TypeOffset = 0x18;     // label_header type[8] "LVM2 001"
    private const int UuidLength = 32;       // pv_header pv_uuid[ID_LEN], at offset_xl

    private static ReadOnlySpan<byte> Id => "LABELONE"u8;

    private static ReadOnlySpan<byte> Type => "LVM2 001"u8;

    private LvmLabel(int sector, ulong sectorField, uint pvHeaderOffset, string? uuid)
    {
        Sector = sector;
        SectorField = sectorField;
        PvHeaderOffset = pvHeaderOffset;
        Uuid = uuid;
    }

    /// <summary>The sector the label was found in.</summary>
    public int Sector { get; }

    /// <summary>The sector the label says it is in.</summary>
    public ulong SectorField { get; }

    /// <summary>Offset of the pv_header in the label's sector.</summary>
    public uint PvHeaderOffset { get; }

    /// <summary>The PV UUID as blkid and pvs print it (6-4-4-4-4-4-6), or null when it lies outside the sector.</summary>
    public string? Uuid { get; }

    /// <summary>The sector of <paramref name="head"/> holding an LVM2 label, or -1.</summary>
    public static int FindSector(ReadOnlySpan<byte> head)
    {
        for (int sector = 0; sector < ScanSectors && (sector + 1) * SectorSize <= head.Length; sector++)
        {
            var bytes = head.Slice(sector * SectorSize, SectorSize);
            if (bytes.Slice(IdOffset, Id.Length).SequenceEqual(Id) && bytes.Slice(TypeOffset, Type.Length).SequenceEqual(Type))
            {
                return sector;
            }
        }
        return -1;
    }

    /// <summary>Parses the label in sector <paramref name="sector"/> (512 bytes in <paramref name="bytes"/>).</summary>
    public static LvmLabel Parse(ReadOnlySpan<byte> bytes, int sector)
    {
        ulong sectorField = BinaryPrimitives.ReadUInt64LittleEndian(bytes[SectorOffset..]);
        uint pvOffset = BinaryPrimitives.ReadUInt32LittleEndian(bytes[PvOffsetOffset..]);
        string? uuid = pvOffset <= SectorSize - UuidLength ? FormatUuid(bytes.Slice((int)pvOffset, UuidLength)) : null;
        return new LvmLabel(sector, sectorField, pvOffset, uuid);
    }

    /// <summary>Throws when the label is not where it says, or its pv_header does not fit in its sector.</summary>
    public void Validate()
    {
        long labelStart = (long)Sector * SectorSize;
        if (SectorField != (ulong)Sector)
        {
            throw new DiskFormatException("LVM2 label", "sector_xl", SectorField, labelStart + SectorOffset,
                $"the label is in sector {Sector}");
        }
        if (Uuid is null)
        {
            throw new DiskFormatException("LVM2 label", "offset_xl", PvHeaderOffset, labelStart + PvOffsetOffset,
                $"the pv_header's {UuidLength}-byte UUID does not fit in the {SectorSize}-byte sector");
        }
    }

    private static string FormatUuid(ReadOnlySpan<byte> id)
    {
        string text = Encoding.ASCII.GetString(id);
        return string.Join('-', text[..6], text[6..10], text[10..14], text[14..18], text[18..22], text[22..26], text[26..]);
    }
}
