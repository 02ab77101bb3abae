using System.Buffers.Binary;
using System.Numerics;

namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>The first restart page of $LogFile, NTFS's journal: whether Windows closed it cleanly.</summary>
/// <remarks>Offsets from ntfs-3g's <c>RESTART_PAGE_HEADER</c> and <c>RESTART_AREA</c> (include/ntfs-3g/logfile.h). A
/// journal left open (Windows hibernated by Fast Startup, or stopped without unmounting) holds changes $Bitmap does not
/// show yet, so its free clusters are not proven free.</remarks>
public readonly struct NtfsLogFileRestartPage
{
    /// <summary>Bytes read first: the default log page, enough to tell an empty journal and to read the header.</summary>
    public const int FirstReadSize = 4096;

    /// <summary>Largest system page accepted for the restart page.</summary>
    public const int MaxSystemPageSize = 65536;

    private const int MagicOffset = 0x00;            // magic "RSTR" (or "CHKD" after chkdsk)
    private const int SystemPageSizeOffset = 0x10;   // system_page_size (le32)
    private const int RestartAreaOffsetOffset = 0x18; // restart_area_offset (le16)
    private const int HeaderSize = 0x1E;             // sizeof(RESTART_PAGE_HEADER): the update sequence follows

    private const int ClientInUseListOffset = 0x0C;  // RESTART_AREA client_in_use_list (le16)
    private const int AreaFlagsOffset = 0x0E;        // RESTART_AREA flags (le16)
    private const int AreaCheckedBytes = 0x10;       // the restart area fields read here

    private const ushort NoClient = 0xFFFF;          // LOGFILE_NO_CLIENT
    private const ushort VolumeIsClean = 0x0002;     // RESTART_VOLUME_IS_CLEAN

    private static ReadOnlySpan<byte> RestartMagic => "RSTR"u8;

    private static ReadOnlySpan<byte> CheckedMagic => "CHKD"u8;

    private NtfsLogFileRestartPage(bool isEmpty, ushort clientInUseList, ushort flags)
    {
        IsEmpty = isEmpty;
        ClientInUseList = clientInUseList;
        Flags = flags;
    }

    /// <summary>True for a journal never opened since mkntfs or ntfs-3g reset it: its pages are all 0xFF.</summary>
    public bool IsEmpty { get; }

    /// <summary>First in-use log client, or 0xFFFF (LOGFILE_NO_CLIENT) when the journal is closed.</summary>
    public ushort ClientInUseList { get; }

    /// <summary>Restart area flags.</summary>
    public ushort Flags { get; }

    /// <summary>As ntfs-3g judges it: empty, closed, or open but marked clean at dismount.</summary>
    public bool IsClean => IsEmpty || ClientInUseList == NoClient || (Flags & VolumeIsClean) != 0;

    /// <summary>The restart page's system_page_size, read from the first bytes of <paramref name="start"/>, or 0 when
    /// the journal is empty. Throws for an unknown magic or a size out of bounds.</summary>
    public static int SystemPageSize(ReadOnlySpan<byte> start, long diskOffset)
    {
        if (!start.ContainsAnyExcept((byte)0xFF))
        {
            return 0;
        }
        var magic = start.Slice(MagicOffset, RestartMagic.Length);
        if (!magic.SequenceEqual(RestartMagic) && !magic.SequenceEqual(CheckedMagic))
        {
            throw new DiskFormatException("NTFS $LogFile restart page", "magic", Convert.ToHexString(magic),
                diskOffset + MagicOffset, "expected \"RSTR\" or \"CHKD\", or an empty (all 0xFF) journal");
        }
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(start[SystemPageSizeOffset..]);
        if (size < NtfsUpdateSequence.Stride || size > MaxSystemPageSize || !BitOperations.IsPow2(size))
        {
            throw new DiskFormatException("NTFS $LogFile restart page", "system_page_size", size,
                diskOffset + SystemPageSizeOffset, $"must be a power of two from {NtfsUpdateSequence.Stride} to {MaxSystemPageSize}");
        }
        return (int)size;
    }

    /// <summary>The empty journal's page.</summary>
    public static NtfsLogFileRestartPage Empty => new(isEmpty: true, NoClient, 0);

    /// <summary>Applies the fixups of the whole restart <paramref name="page"/> and reads its restart area.</summary>
    public static NtfsLogFileRestartPage Parse(Span<byte> page, long diskOffset)
    {
        const string Structure = "NTFS $LogFile restart page";
        NtfsUpdateSequence.Apply(page, Structure, diskOffset, HeaderSize);
        int areaOffset = BinaryPrimitives.ReadUInt16LittleEndian(page[RestartAreaOffsetOffset..]);
        int usaEnd = BinaryPrimitives.ReadUInt16LittleEndian(page[NtfsUpdateSequence.UsaOffsetOffset..])
            + 2 * BinaryPrimitives.ReadUInt16LittleEndian(page[NtfsUpdateSequence.UsaCountOffset..]);
        // The fields read must lie before the first stride's fixup bytes, as ntfs-3g requires.
        if (areaOffset % 8 != 0 || areaOffset < usaEnd || areaOffset + AreaCheckedBytes > NtfsUpdateSequence.Stride - 2)
        {
            throw new DiskFormatException(Structure, "restart_area_offset", areaOffset, diskOffset + RestartAreaOffsetOffset,
                $"must be 8-aligned, after the update sequence (byte {usaEnd}), with the restart area in the first stride");
        }
        return new NtfsLogFileRestartPage(isEmpty: false,
            BinaryPrimitives.ReadUInt16LittleEndian(page[(areaOffset + ClientInUseListOffset)..]),
            BinaryPrimitives.ReadUInt16LittleEndian(page[(areaOffset + AreaFlagsOffset)..]));
    }
}
