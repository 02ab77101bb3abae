using System.Numerics;

namespace LiveImager.Formats.FileSystems;

/// <summary>Which blocks of a filesystem hold data, at the filesystem's own block size.</summary>
/// <remarks>A map starts with every block used. A filesystem module may only clear what its own metadata proves free
/// (DESIGN.md invariant 1). One bit per block: a 2 TiB filesystem of 4 KiB blocks takes 64 MiB.</remarks>
public sealed class UsedBlockMap
{
    /// <summary>The most blocks a map may describe: 2^32 blocks is a 16 TiB filesystem at 4 KiB, and 512 MiB of bits.</summary>
    public const long MaxBlocks = 1L << 32;

    private readonly ulong[] _words;

    /// <summary>A map of <paramref name="blockCount"/> blocks of <paramref name="blockSize"/> bytes, all used.</summary>
    public UsedBlockMap(long blockCount, int blockSize)
    {
        if (blockCount < 0 || blockCount > MaxBlocks)
        {
            throw new DiskFormatException("used-block map", "block count", blockCount, -1, $"must be 0..{MaxBlocks}");
        }
        if (blockSize < 512 || !BitOperations.IsPow2(blockSize))
        {
            throw new DiskFormatException("used-block map", "block size", blockSize, -1, "must be a power of two of at least 512");
        }
        BlockCount = blockCount;
        BlockSize = blockSize;
        _words = new ulong[(blockCount + 63) / 64];
        Array.Fill(_words, ulong.MaxValue);
        if (blockCount % 64 != 0)
        {
            _words[^1] = (1UL << (int)(blockCount % 64)) - 1;
        }
        UsedCount = blockCount;
    }

    /// <summary>Size of one block in bytes.</summary>
    public int BlockSize { get; }

    /// <summary>Number of blocks the map describes.</summary>
    public long BlockCount { get; }

    /// <summary>Number of blocks marked used.</summary>
    public long UsedCount { get; private set; }

    /// <summary>Bytes the used blocks cover.</summary>
    public long UsedBytes => UsedCount * BlockSize;

    public bool IsUsed(long block)
    {
        CheckBlock(block, 1);
        return (_words[block >> 6] & (1UL << (int)(block & 63))) != 0;
    }

    /// <summary>Marks <paramref name="count"/> blocks from <paramref name="first"/> free.</summary>
    public void MarkFree(long first, long count = 1) => Set(first, count, used: false);

    /// <summary>Marks <paramref name="count"/> blocks from <paramref name="first"/> used.</summary>
    public void MarkUsed(long first, long count = 1) => Set(first, count, used: true);

    /// <summary>Marks every block used again, as when a module finds its metadata inconsistent.</summary>
    public void MarkAllUsed() => MarkUsed(0, BlockCount);

    /// <summary>Runs of consecutive used blocks, in ascending order.</summary>
    public IEnumerable<(long First, long Count)> UsedRuns()
    {
        long block = 0;
        while (block < BlockCount)
        {
            long start = NextWithState(block, used: true, BlockCount);
            if (start >= BlockCount)
            {
                yield break;
            }
            long end = NextWithState(start, used: false, BlockCount);
            yield return (start, end - start);
            block = end;
        }
    }

    /// <summary>The first free block of [<paramref name="first"/>, +<paramref name="count"/>), or first + count when
    /// every one of them is used; a word at a time.</summary>
    public long FirstFree(long first, long count)
    {
        CheckBlock(first, count);
        return NextWithState(first, used: false, first + count);
    }

    /// <summary>The map as bits, least significant bit first, one bit per block (1 = used).</summary>
    public byte[] ToBitmap()
    {
        var bytes = new byte[(BlockCount + 7) / 8];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(_words[i >> 3] >> ((i & 7) * 8));
        }
        return bytes;
    }

    /// <summary>Rebuilds a map from <see cref="ToBitmap"/>'s bytes.</summary>
    public static UsedBlockMap FromBitmap(ReadOnlySpan<byte> bitmap, long blockCount, int blockSize)
    {
        if (bitmap.Length != (blockCount + 7) / 8)
        {
            throw new DiskFormatException("used-block map", "bitmap length", bitmap.Length, -1,
                $"expected {(blockCount + 7) / 8} bytes for {blockCount} blocks");
        }
        var map = new UsedBlockMap(blockCount, blockSize);
        Array.Clear(map._words);
        for (int i = 0; i < bitmap.Length; i++)
        {
            map._words[i >> 3] |= (ulong)bitmap[i] << ((i & 7) * 8);
        }
        if (blockCount % 64 != 0)
        {
            map._words[^1] &= (1UL << (int)(blockCount % 64)) - 1;
        }
        long used = 0;
        foreach (ulong word in map._words)
        {
            used += BitOperations.PopCount(word);
        }
        map.UsedCount = used;
        return map;
    }

    private void Set(long first, long count, bool used)
    {
        CheckBlock(first, count);
        long block = first;
        long end = first + count;
        while (block < end)
        {
            int bit = (int)(block & 63);
            int span = (int)Math.Min(64 - bit, end - block);
            ulong mask = span == 64 ? ulong.MaxValue : ((1UL << span) - 1) << bit;
            ref ulong word = ref _words[block >> 6];
            int before = BitOperations.PopCount(word & mask);
            word = used ? word | mask : word & ~mask;
            UsedCount += used ? span - before : -before;
            block += span;
        }
    }

    /// <summary>The first block from <paramref name="from"/> in <paramref name="used"/> state, or <paramref name="end"/>.</summary>
    private long NextWithState(long from, bool used, long end)
    {
        long block = from;
        while (block < end)
        {
            int bit = (int)(block & 63);
            ulong word = _words[block >> 6];
            if (!used)
            {
                word = ~word;
            }
            word &= ulong.MaxValue << bit;
            if (word != 0)
            {
                return Math.Min(end, (block & ~63L) + BitOperations.TrailingZeroCount(word));
            }
            block = (block & ~63L) + 64;
        }
        return end;
    }

    private void CheckBlock(long first, long count)
    {
        if (first < 0 || count < 0 || first > BlockCount || count > BlockCount - first)
        {
            throw new DiskFormatException("used-block map", "block range", $"{first}+{count}", -1,
                $"lies outside the map's {BlockCount} blocks");
        }
    }
}
