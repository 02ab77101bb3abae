using System.Buffers.Binary;

namespace LiveImager.Formats.FileSystems.Btrfs;

/// <summary>One stripe of a chunk: where on which device a copy (DUP, RAID1) or a part (RAID0) of it lies.</summary>
public readonly record struct BtrfsStripe(ulong DevId, ulong Offset);

/// <summary>struct btrfs_chunk: a range of the logical address space, its type and profile, and its stripes.</summary>
/// <remarks>Offsets from the kernel's include/uapi/linux/btrfs_tree.h (struct btrfs_chunk, struct btrfs_stripe). A
/// chunk's key is (FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, logical start); each chunk is one block group.</remarks>
public sealed class BtrfsChunkItem
{
    public const int LengthOffset = 0x00;     // length
    public const int TypeOffset = 0x18;       // type: BTRFS_BLOCK_GROUP_* type and profile bits
    public const int NumStripesOffset = 0x2C; // num_stripes
    public const int StripesOffset = 0x30;    // stripes[num_stripes]
    public const int StripeSize = 0x20;       // struct btrfs_stripe
    public const int StripeDevIdOffset = 0x00;  // btrfs_stripe.devid
    public const int StripeOffsetOffset = 0x08; // btrfs_stripe.offset: physical byte offset on the device

    /// <summary>The key objectid of every chunk item (BTRFS_FIRST_CHUNK_TREE_OBJECTID).</summary>
    public const ulong ObjectId = 256;

    // Block group (and chunk) type and profile bits (btrfs_tree.h BTRFS_BLOCK_GROUP_*).
    public const ulong TypeData = 1UL << 0;
    public const ulong TypeSystem = 1UL << 1;
    public const ulong TypeMetadata = 1UL << 2;
    public const ulong ProfileRaid0 = 1UL << 3;
    public const ulong ProfileRaid1 = 1UL << 4;
    public const ulong ProfileDup = 1UL << 5;
    public const ulong ProfileRaid10 = 1UL << 6;
    public const ulong ProfileRaid5 = 1UL << 7;
    public const ulong ProfileRaid6 = 1UL << 8;
    public const ulong ProfileRaid1C3 = 1UL << 9;
    public const ulong ProfileRaid1C4 = 1UL << 10;
    public const ulong TypeMask = TypeData | TypeSystem | TypeMetadata;
    public const ulong ProfileMask = ProfileRaid0 | ProfileRaid1 | ProfileDup | ProfileRaid10 | ProfileRaid5
        | ProfileRaid6 | ProfileRaid1C3 | ProfileRaid1C4;

    private BtrfsChunkItem(ulong logical, ulong length, ulong type, BtrfsStripe[] stripes, long diskOffset)
    {
        Logical = logical;
        Length = length;
        Type = type;
        Stripes = stripes;
        DiskOffset = diskOffset;
    }

    /// <summary>Logical start (the key's offset).</summary>
    public ulong Logical { get; }
    public ulong Length { get; }
    public ulong Type { get; }
    public IReadOnlyList<BtrfsStripe> Stripes { get; }

    /// <summary>Byte offset of the item on the device, for messages.</summary>
    public long DiskOffset { get; }

    public ulong End => Logical + Length;

    public bool IsSystem => (Type & TypeSystem) != 0;

    /// <summary>"single", "dup", "raid1"..., as btrfs-progs names profiles.</summary>
    public string ProfileName => (Type & ProfileMask) switch
    {
        0 => "single",
        ProfileRaid0 => "raid0",
        ProfileRaid1 => "raid1",
        ProfileDup => "dup",
        ProfileRaid10 => "raid10",
        ProfileRaid5 => "raid5",
        ProfileRaid6 => "raid6",
        ProfileRaid1C3 => "raid1c3",
        ProfileRaid1C4 => "raid1c4",
        ulong bits => $"0x{bits:X}",
    };

    /// <summary>"data", "metadata", "system" or a mix (mixed block groups), as btrfs-progs names types.</summary>
    public string TypeName => string.Join('|', new[] { (TypeData, "data"), (TypeSystem, "system"), (TypeMetadata, "metadata") }
        .Where(t => (Type & t.Item1) != 0).Select(t => t.Item2).DefaultIfEmpty("none"));

    /// <summary>Parses the chunk item whose key offset is <paramref name="logical"/> from <paramref name="item"/>, which
    /// must be exactly its bytes; <paramref name="diskOffset"/> places it for messages.</summary>
    public static BtrfsChunkItem Parse(ulong logical, ReadOnlySpan<byte> item, long diskOffset)
    {
        const string Structure = "btrfs chunk item";
        if (item.Length < StripesOffset + StripeSize)
        {
            throw new DiskFormatException(Structure, "size", item.Length, diskOffset,
                $"chunk at logical {logical}: needs at least {StripesOffset + StripeSize} bytes for one stripe");
        }
        int numStripes = BinaryPrimitives.ReadUInt16LittleEndian(item[NumStripesOffset..]);
        if (numStripes == 0 || StripesOffset + (numStripes * StripeSize) != item.Length)
        {
            throw new DiskFormatException(Structure, "num_stripes", numStripes, diskOffset + NumStripesOffset,
                $"chunk at logical {logical}: must be at least 1 and fill the item's {item.Length} bytes "
                + $"({StripesOffset} + {StripeSize} per stripe)");
        }
        var stripes = new BtrfsStripe[numStripes];
        for (int i = 0; i < numStripes; i++)
        {
            var stripe = item.Slice(StripesOffset + (i * StripeSize), StripeSize);
            stripes[i] = new BtrfsStripe(BinaryPrimitives.ReadUInt64LittleEndian(stripe[StripeDevIdOffset..]),
                BinaryPrimitives.ReadUInt64LittleEndian(stripe[StripeOffsetOffset..]));
        }
        return new BtrfsChunkItem(logical, BinaryPrimitives.ReadUInt64LittleEndian(item[LengthOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(item[TypeOffset..]), stripes, diskOffset);
    }

    /// <summary>The item's size as stored: its fixed part and its stripes, read from the stripe count at its start.</summary>
    /// <remarks>sys_chunk_array packs key and item pairs without item headers, so each item's size comes from this.</remarks>
    public static int StoredSize(ReadOnlySpan<byte> item) =>
        item.Length < NumStripesOffset + 2
            ? -1
            : StripesOffset + (BinaryPrimitives.ReadUInt16LittleEndian(item[NumStripesOffset..]) * StripeSize);
}
