namespace LiveImager.Formats.FileSystems.Xfs;

/// <summary>Whether an internal XFS log is clean: its newest record is the unmount record, so nothing needs replaying.</summary>
/// <remarks>A used-blocks-only copy of a filesystem whose log needs recovery is unsafe: replay rewrites metadata,
/// the free-space trees included, from what the log holds, and may point files at blocks that were never copied.
/// The head is found as the kernel's xlog_find_head does in the ordinary case, by binary search on the cycle numbers
/// stamped in every basic block (the log reads [cycle c ... | c-1 ...]); the record before the head must then be
/// xlog_check_unmount_rec's single unmount operation. Anything else (torn writes, a zeroed start, a header of another
/// cycle) is reported as not clean: a whole copy is the safe answer, never a replay here.</remarks>
public sealed class XfsLog
{
    private readonly IBlockSource _partition;
    private readonly long _start;
    private readonly long _blocks;
    private readonly byte[] _buffer = new byte[XfsLogRecordHeader.BasicBlockSize];

    /// <param name="partition">The filesystem.</param>
    /// <param name="start">Byte offset of the log's first block.</param>
    /// <param name="length">Bytes of the log.</param>
    public XfsLog(IBlockSource partition, long start, long length)
    {
        _partition = partition;
        _start = start;
        _blocks = length / XfsLogRecordHeader.BasicBlockSize;
    }

    /// <summary>Null when the log is clean, else why it is not (for the whole-copy reason).</summary>
    public string? WhyNotClean()
    {
        if (_blocks < 2)
        {
            return $"the log of {_blocks} basic blocks is too small to hold a record";
        }
        uint firstCycle = CycleAt(0);
        uint lastCycle = CycleAt(_blocks - 1);
        if (firstCycle == 0)
        {
            // xfs_repair -L and mkfs of old leave an all-zero log: nothing to replay, provided it is zero throughout.
            return lastCycle == 0 ? null : "the log's first block is unwritten but its last is not";
        }
        long head;
        if (firstCycle == lastCycle)
        {
            // Every block has the newest cycle: the newest record ends at the physical end and the head wraps to 0.
            head = _blocks;
        }
        else if (lastCycle == firstCycle - 1)
        {
            head = FirstBlockWithCycle(lastCycle);
        }
        else
        {
            return $"the log's cycle numbers ({firstCycle} first, {lastCycle} last) do not show where its head is";
        }
        long header = FindHeaderBefore(head);
        if (header < 0)
        {
            return "no log record header precedes the log's head";
        }
        Read(header);
        var record = XfsLogRecordHeader.Parse(_buffer);
        if (record.Cycle != firstCycle)
        {
            return $"the newest log record has cycle {record.Cycle}, not the head's {firstCycle}";
        }
        if (record.OperationCount != 1)
        {
            return $"the newest log record holds {record.OperationCount} operations, not the single unmount record";
        }
        Read((header + record.HeaderBlocks) % _blocks);
        if ((_buffer[XfsLogRecordHeader.OperationFlagsOffset] & XfsLogRecordHeader.UnmountFlag) == 0)
        {
            return "the newest log record is not an unmount record: the log needs recovery";
        }
        return null;
    }

    /// <summary>Binary search for the first basic block stamped with <paramref name="cycle"/> (the older cycle) in a log
    /// whose first block has the newer one: at most log2(blocks) reads.</summary>
    private long FirstBlockWithCycle(uint cycle)
    {
        long low = 0;           // known newer
        long high = _blocks - 1; // known older
        while (high - low > 1)
        {
            long middle = low + ((high - low) / 2);
            if (CycleAt(middle) == cycle)
            {
                high = middle;
            }
            else
            {
                low = middle;
            }
        }
        return high;
    }

    /// <summary>The nearest basic block before <paramref name="head"/> (wrapping) that starts a record, looking back
    /// no further than one record of the largest size and its header; -1 when there is none.</summary>
    private long FindHeaderBefore(long head)
    {
        long limit = Math.Min(_blocks, (XfsLogRecordHeader.MaxRecordSize / XfsLogRecordHeader.BasicBlockSize) + 16);
        for (long back = 1; back <= limit; back++)
        {
            long block = ((head - back) % _blocks + _blocks) % _blocks;
            Read(block);
            if (XfsLogRecordHeader.IsHeader(_buffer))
            {
                return block;
            }
        }
        return -1;
    }

    private uint CycleAt(long block)
    {
        Read(block);
        return XfsLogRecordHeader.CycleOf(_buffer);
    }

    private void Read(long block) => _partition.ReadAt(_start + block * XfsLogRecordHeader.BasicBlockSize, _buffer);
}
