using System.Numerics;

namespace LiveImager.Formats.Clonezilla;

/// <summary>Reads a partclone image stream front to back (format 0002): the header, the bitmap and its CRC32, then the
/// used blocks in order with a checksum after every <see cref="PartcloneHeader.BlocksPerChecksum"/> blocks and after
/// the last group. Every checksum is checked; a mismatch or an early end names the partition, block and image file.</summary>
/// <remarks>The bitmap is held in memory (one bit per block, bounded by <see cref="MaxBitmapBytes"/>); the blocks are
/// streamed into the caller's buffer, so memory does not grow with the image.</remarks>
public sealed class PartcloneReader
{
    /// <summary>Largest bitmap held: 256 MiB is 2^31 blocks, 8 TiB of 4 KiB blocks.</summary>
    public const long MaxBitmapBytes = 256L << 20;

    private readonly Stream _stream;
    private readonly string _source;
    private readonly byte[] _bitmap;
    private readonly PartcloneChecksum? _checksum;
    private readonly byte[] _storedChecksum;
    private readonly byte[] _computedChecksum;
    private long _nextBlock;
    private long _blocksRead;
    private int _blocksInGroup;
    private bool _finished;

    /// <summary>Reads and checks the header and the bitmap.</summary>
    /// <param name="source">How messages name the image: the partition and the image file ("sda1 in sda1.ext4-ptcl-img.zst").</param>
    /// <exception cref="DiskFormatException">The header or bitmap is damaged, or the stream ends early.</exception>
    public PartcloneReader(Stream stream, string source)
    {
        _stream = stream;
        _source = source;
        var head = new byte[PartcloneHeader.Length];
        ReadExactly(head, "the header");
        Header = PartcloneHeader.Parse(head, source);
        if (Header.BitmapBytes > MaxBitmapBytes)
        {
            throw new DiskFormatException($"partclone header of {source}", "totalblock", Header.TotalBlocks, 0x3C,
                $"its bitmap would be {Header.BitmapBytes} bytes, more than the {MaxBitmapBytes} this LiveImager holds");
        }
        _bitmap = new byte[Header.BitmapBytes];
        ReadExactly(_bitmap, "the bitmap");
        var crc = new byte[4];
        ReadExactly(crc, "the bitmap's CRC32");
        uint stored = BitConverter.ToUInt32(crc);
        uint computed = PartcloneChecksum.Crc32(_bitmap);
        if (stored != computed)
        {
            throw new DiskFormatException($"partclone bitmap of {source}", "crc", $"0x{stored:x8}", PartcloneHeader.Length + _bitmap.Length,
                $"does not match the bitmap (computed 0x{computed:x8}): the bitmap is damaged");
        }
        // Bits past the last block are not blocks: a set one would send data past the partition's end.
        int spare = (int)(_bitmap.Length * 8L - Header.TotalBlocks);
        if (spare > 0 && (_bitmap[^1] >> (8 - spare)) != 0)
        {
            throw new DiskFormatException($"partclone bitmap of {source}", "last byte", $"0x{_bitmap[^1]:x2}", PartcloneHeader.Length + _bitmap.Length - 1,
                $"marks blocks past the {Header.TotalBlocks} the header gives");
        }
        UsedBlocks = CountUsed(_bitmap);
        if (UsedBlocks != Header.UsedBlocks)
        {
            throw new DiskFormatException($"partclone bitmap of {source}", "used bits", UsedBlocks, PartcloneHeader.Length,
                $"the header's usedblocks is {Header.UsedBlocks}: header and bitmap disagree");
        }
        if (Header.ChecksumMode != PartcloneChecksumMode.None)
        {
            _checksum = new PartcloneChecksum(Header.ChecksumMode);
        }
        _storedChecksum = new byte[Header.ChecksumSize];
        _computedChecksum = new byte[Header.ChecksumSize];
    }

    public PartcloneHeader Header { get; }

    /// <summary>Blocks the bitmap marks used: what the stream holds.</summary>
    public long UsedBlocks { get; }

    /// <summary>The bitmap as stored: one bit per block, least significant bit first, <see cref="PartcloneHeader.BitmapBytes"/> long.</summary>
    public ReadOnlySpan<byte> Bitmap => _bitmap;

    /// <summary>Blocks read so far.</summary>
    public long BlocksRead => _blocksRead;

    /// <summary>True when block <paramref name="block"/> is in the image.</summary>
    public bool IsUsed(long block) => (_bitmap[block >> 3] >> (int)(block & 7) & 1) != 0;

    /// <summary>Reads the next run of consecutive used blocks into <paramref name="destination"/> (at most as many as
    /// fit), checking each group's checksum as it ends.</summary>
    /// <returns>The blocks read, 0 once every used block was read and the last checksum checked.</returns>
    /// <exception cref="DiskFormatException">A checksum does not match, or the stream ends early.</exception>
    public int ReadRun(Span<byte> destination, out long firstBlock)
    {
        int blockSize = Header.BlockSize;
        int capacity = destination.Length / blockSize;
        if (capacity < 1)
        {
            throw new ArgumentException($"the buffer must hold one block of {blockSize} bytes", nameof(destination));
        }
        while (_nextBlock < Header.TotalBlocks && !IsUsed(_nextBlock))
        {
            _nextBlock = SkipFree(_nextBlock);
        }
        firstBlock = _nextBlock;
        int count = 0;
        while (count < capacity && _nextBlock < Header.TotalBlocks && IsUsed(_nextBlock))
        {
            Span<byte> block = destination.Slice(count * blockSize, blockSize);
            ReadExactly(block, $"block {_nextBlock}");
            _blocksRead++;
            if (_checksum is not null)
            {
                _checksum.Append(block);
                if (++_blocksInGroup == Header.BlocksPerChecksum)
                {
                    CheckGroup(_nextBlock);
                }
            }
            _nextBlock++;
            count++;
        }
        if (count == 0 && !_finished)
        {
            Finish();
        }
        return count;
    }

    /// <summary>After the last block: the checksum of the last, partial group.</summary>
    private void Finish()
    {
        _finished = true;
        if (_blocksRead != UsedBlocks)
        {
            throw new DiskFormatException($"partclone image of {_source}", $"ends after {_blocksRead} of {UsedBlocks} used blocks");
        }
        if (_checksum is not null && _blocksInGroup > 0)
        {
            CheckGroup(_nextBlock - 1);
        }
    }

    private void CheckGroup(long lastBlock)
    {
        ReadExactly(_storedChecksum, $"the checksum after block {lastBlock}");
        _checksum!.Current(_computedChecksum);
        if (!_storedChecksum.AsSpan().SequenceEqual(_computedChecksum))
        {
            long firstBlock = FirstBlockOfGroup(lastBlock);
            throw new DiskFormatException($"partclone image of {_source}",
                $"{PartcloneChecksum.NameOf(Header.ChecksumMode)} checksum {Convert.ToHexString(_storedChecksum)} of blocks {firstBlock}..{lastBlock} " +
                $"(used block {_blocksRead - _blocksInGroup + 1}..{_blocksRead} of {UsedBlocks}) does not match the data " +
                $"(computed {Convert.ToHexString(_computedChecksum)}): the image is damaged at block {firstBlock} or after");
        }
        _blocksInGroup = 0;
        if (Header.ReseedChecksum)
        {
            _checksum.Reset();
        }
    }

    /// <summary>The block number of the group's first used block, for the message.</summary>
    private long FirstBlockOfGroup(long lastBlock)
    {
        long block = lastBlock;
        for (int left = _blocksInGroup - 1; left > 0 && block > 0; block--)
        {
            if (IsUsed(block - 1))
            {
                left--;
            }
        }
        return block;
    }

    /// <summary>The next block at or after <paramref name="block"/> whose byte of the bitmap has a bit set, skipping
    /// whole zero bytes at once.</summary>
    private long SkipFree(long block)
    {
        long next = block + 1;
        if ((next & 7) == 0)
        {
            long index = next >> 3;
            int found = _bitmap.AsSpan((int)Math.Min(index, _bitmap.Length)).IndexOfAnyExcept((byte)0);
            next = found < 0 ? Header.TotalBlocks : (index + found) << 3;
        }
        return Math.Min(next, Header.TotalBlocks);
    }

    private void ReadExactly(Span<byte> destination, string what)
    {
        int read = _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        if (read != destination.Length)
        {
            throw new DiskFormatException($"partclone image of {_source}",
                $"the stream ends in {what} ({_blocksRead} of {UsedBlocks} used blocks read): the image is truncated or a piece is missing");
        }
    }

    private static long CountUsed(ReadOnlySpan<byte> bitmap)
    {
        long used = 0;
        while (bitmap.Length >= 8)
        {
            used += BitOperations.PopCount(BitConverter.ToUInt64(bitmap));
            bitmap = bitmap[8..];
        }
        foreach (byte b in bitmap)
        {
            used += BitOperations.PopCount(b);
        }
        return used;
    }
}
