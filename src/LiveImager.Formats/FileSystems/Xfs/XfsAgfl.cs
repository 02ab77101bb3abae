namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>The AG free list (AGFL), the fourth sector of every group: blocks set aside so that the free-space and
/// reverse-map B+trees can grow without allocating from themselves.</summary>
/// <remarks>Its blocks are not in the free-space B+trees, so the map leaves them used without reading the list: they
/// are free space in the superblock's count, but the list itself is not checked here (its slots wrap round between
/// agf_flfirst and agf_fllast, and a bad slot would free a used block), and partclone copies them too. A few blocks
/// per group is a small price for a restored AGFL that points at exactly the blocks it pointed at before.
/// Layout from libxfs xfs_format.h (struct xfs_agfl, XFS_AGFL_SIZE).</remarks>
public static class XfsAgfl
{
    /// <summary>Sector of the AGFL within its group (XFS_AGFL_DADDR).</summary>
    public const int SectorInGroup = 3;

    /// <summary>The v5 AGFL header before the slots: magic, seqno, uuid, lsn, crc (struct xfs_agfl).</summary>
    public const int V5HeaderSize = 36;

    /// <summary>Slots in the list: one 32-bit block number per 4 bytes of the sector after the header.</summary>
    public static uint Capacity(in XfsSuperblock superblock) =>
        (uint)((superblock.SectorSize - (superblock.HasCrc ? V5HeaderSize : 0)) / sizeof(uint));

    /// <summary>Blocks at the start of every group that hold the four header sectors (superblock, AGF, AGI, AGFL).</summary>
    public static uint HeaderBlocks(in XfsSuperblock superblock) =>
        (uint)(((SectorInGroup + 1) * superblock.SectorSize + superblock.BlockSize - 1) / superblock.BlockSize);
}
