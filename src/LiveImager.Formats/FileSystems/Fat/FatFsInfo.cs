using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Fat;

/// <summary>The FAT32 FSInfo sector: the free-cluster count the last writer recorded, as a hint.</summary>
/// <remarks>Microsoft FAT spec 1.03 section 5. The count "is not necessarily correct"; 0xFFFFFFFF means unknown.</remarks>
public readonly struct FatFsInfo
{
    /// <summary>Bytes of the FSInfo structure; it fills the first 512 bytes of its sector whatever the sector size.</summary>
    public const int Size = 512;

    private const int LeadSigOffset = 0x000;    // FSI_LeadSig = 0x41615252
    private const int StrucSigOffset = 0x1E4;   // FSI_StrucSig = 0x61417272
    private const int FreeCountOffset = 0x1E8;  // FSI_Free_Count
    private const int TrailSigOffset = 0x1FC;   // FSI_TrailSig = 0xAA550000

    private const uint LeadSig = 0x41615252;
    private const uint StrucSig = 0x61417272;
    private const uint TrailSig = 0xAA550000;

    /// <summary>FSI_Free_Count's value for "not known".</summary>
    public const uint UnknownFreeCount = 0xFFFFFFFF;

    private FatFsInfo(ReadOnlySpan<byte> sector)
    {
        HasSignatures = BinaryPrimitives.ReadUInt32LittleEndian(sector[LeadSigOffset..]) == LeadSig
            && BinaryPrimitives.ReadUInt32LittleEndian(sector[StrucSigOffset..]) == StrucSig
            && BinaryPrimitives.ReadUInt32LittleEndian(sector[TrailSigOffset..]) == TrailSig;
        FreeCount = BinaryPrimitives.ReadUInt32LittleEndian(sector[FreeCountOffset..]);
    }

    /// <summary>True when all three signatures are in place, so the sector really is FSInfo.</summary>
    public bool HasSignatures { get; }

    /// <summary>FSI_Free_Count: free clusters as last recorded, or <see cref="UnknownFreeCount"/>.</summary>
    public uint FreeCount { get; }

    /// <summary>Byte offset of FSI_Free_Count within the sector, for messages.</summary>
    public static int FreeCountFieldOffset => FreeCountOffset;

    public static FatFsInfo Parse(ReadOnlySpan<byte> sector) => new(sector[..Size]);
}
