using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.FileSystems.Swap;

/// <summary>The first page of a Linux swap area (<c>union swap_header</c>, include/linux/swap.h).</summary>
/// <remarks>The header is in the writing CPU's byte order; the version field tells which. Pages after the first hold
/// nothing that survives a reboot, so the header page is all a copy needs.</remarks>
public readonly struct SwapHeader
{
    /// <summary>Smallest page size Linux uses; the magic ends the first page.</summary>
    public const int MinPageSize = 4096;

    /// <summary>Largest page size Linux uses (64 KiB pages on arm64, ppc64).</summary>
    public const int MaxPageSize = 65536;

    private const int MagicLength = 10;

    // swap.h union swap_header.info: bootbits[1024] first.
    private const int VersionOffset = 0x400;   // __u32 version
    private const int LastPageOffset = 0x404;  // __u32 last_page
    private const int UuidOffset = 0x40C;      // unsigned char sws_uuid[16]
    private const int LabelOffset = 0x41C;     // unsigned char sws_volume[16]
    private const int UuidLength = 16;
    private const int LabelLength = 16;

    /// <summary>The only header version mkswap has written since Linux 2.2.</summary>
    private const uint SupportedVersion = 1;

    private static ReadOnlySpan<byte> MagicV1 => "SWAPSPACE2"u8;

    // The pre-2.2 header: the rest of its first page is a bitmap of usable pages, with no UUID or label.
    private static ReadOnlySpan<byte> MagicV0 => "SWAP-SPACE"u8;

    private SwapHeader(int pageSize, bool isVersion0, uint version, uint lastPage, string? uuid, string? label)
    {
        PageSize = pageSize;
        IsVersion0 = isVersion0;
        Version = version;
        LastPage = lastPage;
        Uuid = uuid;
        Label = label;
    }

    /// <summary>The page size the magic was found for.</summary>
    public int PageSize { get; }

    /// <summary>True for the old "SWAP-SPACE" header, which has no version, UUID, label or last page.</summary>
    public bool IsVersion0 { get; }

    /// <summary>Header version (1 for "SWAPSPACE2").</summary>
    public uint Version { get; }

    /// <summary>Index of the last page of the swap area.</summary>
    public uint LastPage { get; }

    /// <summary>UUID as blkid prints it, or null when all zero.</summary>
    public string? Uuid { get; }

    /// <summary>Label, or null when empty.</summary>
    public string? Label { get; }

    /// <summary>The page size whose last 10 bytes carry a swap magic, or 0 when <paramref name="head"/> has none.</summary>
    /// <remarks>A hibernation image replaces the magic ("S1SUSPEND", "LINHIB0001"), so a swap area holding one is not
    /// matched here and is copied whole, as it must be to resume.</remarks>
    public static int FindPageSize(ReadOnlySpan<byte> head)
    {
        for (int pageSize = MinPageSize; pageSize <= MaxPageSize && pageSize <= head.Length; pageSize *= 2)
        {
            var magic = head.Slice(pageSize - MagicLength, MagicLength);
            if (magic.SequenceEqual(MagicV1) || magic.SequenceEqual(MagicV0))
            {
                return pageSize;
            }
        }
        return 0;
    }

    /// <summary>Parses the header page <paramref name="page"/>, whose magic <see cref="FindPageSize"/> found.</summary>
    public static SwapHeader Parse(ReadOnlySpan<byte> page)
    {
        int pageSize = page.Length;
        if (page.Slice(pageSize - MagicLength, MagicLength).SequenceEqual(MagicV0))
        {
            return new SwapHeader(pageSize, isVersion0: true, 0, 0, null, null);
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(page[VersionOffset..]);
        bool bigEndian = version != SupportedVersion && BinaryPrimitives.ReverseEndianness(version) == SupportedVersion;
        uint lastPage = BinaryPrimitives.ReadUInt32LittleEndian(page[LastPageOffset..]);
        if (bigEndian)
        {
            version = SupportedVersion;
            lastPage = BinaryPrimitives.ReverseEndianness(lastPage);
        }
        return new SwapHeader(pageSize, isVersion0: false, version, lastPage,
            FormatUuid(page.Slice(UuidOffset, UuidLength)), ReadLabel(page.Slice(LabelOffset, LabelLength)));
    }

    /// <summary>Throws when the header's version is unknown or its area does not fit in <paramref name="partitionBytes"/>.</summary>
    public void Validate(long partitionBytes)
    {
        if (IsVersion0)
        {
            return;
        }
        if (Version != SupportedVersion)
        {
            throw new DiskFormatException("swap header", "version", Version, VersionOffset, $"expected {SupportedVersion}");
        }
        if (LastPage == 0 || ((long)LastPage + 1) * PageSize > partitionBytes)
        {
            throw new DiskFormatException("swap header", "last_page", LastPage, LastPageOffset,
                $"a swap area of {(long)LastPage + 1} pages of {PageSize} bytes does not fit in the {partitionBytes}-byte partition");
        }
    }

    /// <summary>Pages of the swap area: up to <see cref="LastPage"/>, or the whole partition for a version 0 header.</summary>
    public long PageCount(long partitionBytes) => IsVersion0 ? partitionBytes / PageSize : (long)LastPage + 1;

    /// <summary>Writes the header page mkswap writes for a swap area filling <paramref name="partitionBytes"/>
    /// (version 1, no bad pages), with <paramref name="uuid"/> and <paramref name="label"/>: how a restore recreates a
    /// swap partition that was not imaged.</summary>
    /// <exception cref="DiskFormatException">The partition is too small for a swap area, or the label too long.</exception>
    public static void Build(Span<byte> page, long partitionBytes, Guid uuid, string? label)
    {
        const int MinPages = 10; // mkswap's minimum
        long pages = partitionBytes / page.Length;
        if (pages < MinPages || pages - 1 > uint.MaxValue)
        {
            throw new DiskFormatException("swap header", "last_page", pages - 1, LastPageOffset,
                $"a {partitionBytes}-byte partition cannot hold a swap area of {MinPages} to 2^32 pages of {page.Length} bytes");
        }
        byte[] labelBytes = Encoding.UTF8.GetBytes(label ?? string.Empty);
        if (labelBytes.Length > LabelLength)
        {
            throw new DiskFormatException("swap header", "label", label, LabelOffset, $"is longer than {LabelLength} bytes");
        }
        page.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(page[VersionOffset..], SupportedVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(page[LastPageOffset..], (uint)(pages - 1));
        uuid.TryWriteBytes(page.Slice(UuidOffset, UuidLength), bigEndian: true, out _);
        labelBytes.CopyTo(page[LabelOffset..]);
        MagicV1.CopyTo(page[^MagicLength..]);
    }

    private static string? FormatUuid(ReadOnlySpan<byte> uuid)
    {
        if (!uuid.ContainsAnyExcept((byte)0))
        {
            return null;
        }
        return new Guid(uuid, bigEndian: true).ToString("D");
    }

    private static string? ReadLabel(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        var label = end < 0 ? field : field[..end];
        return label.IsEmpty ? null : Encoding.UTF8.GetString(label);
    }
}
