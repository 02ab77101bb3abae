using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>The LVM2 physical volume label: <c>struct label_header</c> and the <c>struct pv_header</c> that follows it
/// in the same sector, with its lists of data and metadata areas (lvm2 lib/label/label.h, lib/format_text/layout.h).</summary>
public sealed class LvmLabel
{
    /// <summary>LVM writes its label in one of the first four 512-byte sectors (LABEL_SCAN_SECTORS).</summary>
    public const int ScanSectors = 4;

    /// <summary>LVM's sector unit, whatever the device's sector size (SECTOR_SIZE).</summary>
    public const int SectorSize = 512;

    private const int IdOffset = 0x00;       // label_header id[8] "LABELONE"
    private const int SectorOffset = 0x08;   // label_header uint64_t sector_xl: the sector this label is in
    private const int CrcOffset = 0x10;      // label_header uint32_t crc_xl: from offset_xl to the end of the sector
    private const int PvOffsetOffset = 0x14; // label_header uint32_t offset_xl: pv_header's offset in this sector
    private const int TypeOffset = 0x18;     // label_header type[8] "LVM2 001"
    private const int UuidLength = 32;       // pv_header pv_uuid[ID_LEN], at offset_xl
    private const int DeviceSizeOffset = 0x20; // pv_header uint64_t device_size_xl, from offset_xl
    private const int AreasOffset = 0x28;      // pv_header disk_areas_xl[]: data areas, 0-entry, metadata areas, 0-entry

    private static ReadOnlySpan<byte> Id => "LABELONE"u8;

    private static ReadOnlySpan<byte> Type => "LVM2 001"u8;

    private LvmLabel(int sector, ulong sectorField, uint storedCrc, uint computedCrc, uint pvHeaderOffset, string? uuid,
        ulong deviceSize, IReadOnlyList<LvmDiskLocation> dataAreas, IReadOnlyList<LvmDiskLocation> metadataAreas, bool areasTerminated)
    {
        Sector = sector;
        SectorField = sectorField;
        StoredCrc = storedCrc;
        ComputedCrc = computedCrc;
        PvHeaderOffset = pvHeaderOffset;
        Uuid = uuid;
        DeviceSize = deviceSize;
        DataAreas = dataAreas;
        MetadataAreas = metadataAreas;
        AreasTerminated = areasTerminated;
    }

    /// <summary>The sector the label was found in.</summary>
    public int Sector { get; }

    /// <summary>The sector the label says it is in.</summary>
    public ulong SectorField { get; }

    /// <summary>crc_xl as stored.</summary>
    public uint StoredCrc { get; }

    /// <summary>The checksum of the sector from offset_xl on, as LVM computes it.</summary>
    public uint ComputedCrc { get; }

    /// <summary>Offset of the pv_header in the label's sector.</summary>
    public uint PvHeaderOffset { get; }

    /// <summary>The PV UUID as blkid and pvs print it (6-4-4-4-4-4-6), or null when it lies outside the sector.</summary>
    public string? Uuid { get; }

    /// <summary>The device's size in bytes when the PV was made or last resized.</summary>
    public ulong DeviceSize { get; }

    /// <summary>Where the physical extents lie (one area on every PV LVM2 makes).</summary>
    public IReadOnlyList<LvmDiskLocation> DataAreas { get; }

    /// <summary>Where the metadata areas lie: none, one near the start, and maybe a second one at the end.</summary>
    public IReadOnlyList<LvmDiskLocation> MetadataAreas { get; }

    /// <summary>False when the two lists did not both end with a zero entry inside the sector.</summary>
    public bool AreasTerminated { get; }

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
        bytes = bytes[..SectorSize];
        ulong sectorField = BinaryPrimitives.ReadUInt64LittleEndian(bytes[SectorOffset..]);
        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes[CrcOffset..]);
        uint computedCrc = LvmChecksum.Compute(bytes[PvOffsetOffset..]);
        uint pvOffset = BinaryPrimitives.ReadUInt32LittleEndian(bytes[PvOffsetOffset..]);
        if (pvOffset > SectorSize - AreasOffset)
        {
            return new LvmLabel(sector, sectorField, storedCrc, computedCrc, pvOffset, null, 0, [], [], false);
        }
        var header = bytes[(int)pvOffset..];
        string uuid = FormatUuid(header[..UuidLength]);
        ulong deviceSize = BinaryPrimitives.ReadUInt64LittleEndian(header[DeviceSizeOffset..]);
        // The sector bounds both lists: at most (512 - 0x28 - offset) / 16 entries in all.
        var areas = header[AreasOffset..];
        var data = new List<LvmDiskLocation>();
        var metadata = new List<LvmDiskLocation>();
        var current = data;
        bool terminated = false;
        for (int at = 0; at + LvmDiskLocation.Length <= areas.Length; at += LvmDiskLocation.Length)
        {
            var location = LvmDiskLocation.Parse(areas[at..]);
            if (!location.IsTerminator)
            {
                current.Add(location);
            }
            else if (current == data)
            {
                current = metadata;
            }
            else
            {
                terminated = true;
                break;
            }
        }
        return new LvmLabel(sector, sectorField, storedCrc, computedCrc, pvOffset, uuid, deviceSize, data, metadata, terminated);
    }

    /// <summary>Throws when the label is not where it says, fails its checksum, or its pv_header does not fit.</summary>
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
                $"the pv_header does not fit in the {SectorSize}-byte sector");
        }
        if (StoredCrc != ComputedCrc)
        {
            throw new DiskFormatException("LVM2 label", "crc_xl", $"0x{StoredCrc:x8}", labelStart + CrcOffset,
                $"the label's checksum is 0x{ComputedCrc:x8}");
        }
        if (!AreasTerminated)
        {
            throw new DiskFormatException("LVM2 pv_header", "disk_areas_xl", "unterminated", labelStart + PvHeaderOffset + AreasOffset,
                "the lists of data and metadata areas do not end inside the label's sector");
        }
    }

    private static string FormatUuid(ReadOnlySpan<byte> id)
    {
        string text = Encoding.ASCII.GetString(id);
        return string.Join('-', text[..6], text[6..10], text[10..14], text[14..18], text[18..22], text[22..26], text[26..]);
    }
}
