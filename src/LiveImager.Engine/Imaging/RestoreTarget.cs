using LiveImager.Engine.Devices;
using LiveImager.Formats;
using LiveImager.Formats.FileSystems.Ext;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Partitions;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>One disk or file a restore writes: frames at their offsets with O_DIRECT, zero-run frames and (on request)
/// unused space zeroed by the kernel rather than written, unused space discarded on request, the partitions' restore
/// fix-ups, and the GPT backup moved to the end of a disk of another size.</summary>
internal sealed class RestoreTarget : FrameSink
{
    /// <summary>The most bytes one zeroing call covers and the most left pending: a cancel is not held up by a call
    /// that zeroes a whole disk on a device without WRITE ZEROES, and a target that cannot take the zeros fails while
    /// the image is read, as with written data, not only when it is finished.</summary>
    private const long MaxZeroCall = 64L << 20;

    private readonly BlockDevice _device;
    private readonly ImageMetadata _metadata;
    private readonly bool _zeroUnused;
    private readonly long _writableEnd;
    private readonly long _gptBackupStart;
    private readonly Dictionary<ZeroMethod, long> _zeroed = [];
    private long _lastEnd;
    private long _zeroStart;
    private long _zeroEnd;
    private volatile RestoreTargetState _state;

    private RestoreTarget(BlockDevice device, ImageMetadata metadata, bool zeroUnused) : base(device.Path)
    {
        _device = device;
        _metadata = metadata;
        _zeroUnused = zeroUnused;
        RelocatesGpt = metadata.Table.Kind == "gpt" && device.Length != metadata.Source.SizeBytes;
        // On a disk of another size the old GPT backup is not where it belongs; it is rewritten at the end instead.
        _gptBackupStart = RelocatesGpt
            ? metadata.Regions.Where(r => r.Kind == RegionKinds.GptBackup).Select(r => r.StartBytes).DefaultIfEmpty(long.MaxValue).Min()
            : long.MaxValue;
        _writableEnd = Math.Min(device.Length, _gptBackupStart);
    }

    /// <summary>Where this target stands; a failure outranks the stage the job has moved it to. Read from other threads.</summary>
    public RestoreTargetState State
    {
        get => Failure is null ? _state : RestoreTargetState.Failed;
        set => _state = value;
    }

    /// <summary>True when the target's size differs from the source's and its GPT backup is rewritten at the end.</summary>
    public bool RelocatesGpt { get; }

    /// <summary>Opens <paramref name="path"/> and checks it can take the image, before anything is written. A target is
    /// never created: a missing path is a mistyped disk name far more often than a wish for a new file.</summary>
    /// <exception cref="DiskPathException">The path breaks <see cref="DiskPath"/>'s rule.</exception>
    /// <exception cref="ImagingException">The target is in use, the boot medium, a partition, or smaller than the end
    /// of the image's last partition.</exception>
    public static RestoreTarget Open(string path, ImageMetadata metadata, bool zeroUnused, int chunkSize, DiskScanner scanner)
    {
        DiskPath.Check(path, DiskRole.RestoreTarget);
        BlockDevice device = DiskGuard.OpenTarget(path, scanner);
        try
        {
            long required = metadata.RequiredTargetBytes;
            if (!device.IsBlockDevice && device.Length < metadata.Source.SizeBytes)
            {
                device.SetLength(metadata.Source.SizeBytes);
            }
            if (device.Length < required)
            {
                throw new ImagingException(
                    $"{path} is {device.Length} bytes ({device.Length / 1048576} MiB) but the image needs at least {required} bytes " +
                    $"({(required + 1048575) / 1048576} MiB, the end of its last partition; the source disk was {metadata.Source.SizeBytes} bytes); nothing was written");
            }
            return new RestoreTarget(device, metadata, zeroUnused);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>One writer: zero runs and (with <c>--zero-unused</c>) the gaps between frames join one pending range that
    /// the kernel zeroes (<see cref="BlockDevice.Zero"/>), which needs the frames in order, one at a time.</summary>
    public override int Writers => 1;

    /// <summary>Discards the whole target (BLKDISCARD, or punched holes in a file) before the frames are written.</summary>
    public void DiscardAll() => _device.Discard(0, _device.Length);

    public override void Write(in FrameHeader frame, Span<byte> raw)
    {
        long end = Math.Min(frame.Position + frame.RawLength, _writableEnd);
        if (frame.Position >= end)
        {
            return;
        }
        ZeroUpTo(frame.Position);
        int length = (int)(end - frame.Position);
        if (frame.Encoding == FrameEncoding.ZeroRun)
        {
            // Zeros are never moved as bytes: the run joins the pending range that the kernel zeroes.
            AddZeros(frame.Position, frame.Position + Aligned(length));
        }
        else
        {
            FlushZeros();
            if (frame.Position % _device.Alignment == 0)
            {
                _device.WriteAligned(frame.Position, raw[..Aligned(length)]);
            }
            else
            {
                // Only a Clonezilla image's runs of blocks smaller than 4 KiB start here; the edges are read back.
                _device.WriteAt(frame.Position, raw[..length]);
            }
            Interlocked.Add(ref _bytesWritten, length);
        }
        _lastEnd = end;
        CountDone(length);
    }

    /// <summary>Bytes of the target changed so far: data written and ranges zeroed, not the zero runs still pending.
    /// What a failure says was written (<see cref="FrameSink.BytesDone"/> counts pending zero runs as done).</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    private long _bytesWritten;

    /// <summary>Bytes zeroed so far, by how (flushed ranges only).</summary>
    public IReadOnlyDictionary<ZeroMethod, long> Zeroed => _zeroed;

    /// <summary>A length rounded up to whole logical sectors; the tail of the last frame of a disk is whole sectors
    /// already, and a file takes any length.</summary>
    private int Aligned(int length) => _device.IsBlockDevice
        ? (length + _device.LogicalSectorSize - 1) / _device.LogicalSectorSize * _device.LogicalSectorSize
        : length;

    /// <summary>With --zero-unused, the bytes between the last frame and <paramref name="position"/> join the pending
    /// zero range.</summary>
    private void ZeroUpTo(long position)
    {
        if (_zeroUnused && _lastEnd < position)
        {
            AddZeros(_lastEnd, position);
            _lastEnd = position;
        }
    }

    /// <summary>Adds [start, end) to the pending zero range, first zeroing the pending range when the two do not touch:
    /// consecutive zero runs and gaps become one call.</summary>
    private void AddZeros(long start, long end)
    {
        if (start != _zeroEnd)
        {
            FlushZeros();
            _zeroStart = start;
        }
        _zeroEnd = end;
        if (_zeroEnd - _zeroStart >= MaxZeroCall)
        {
            FlushZeros();
        }
    }

    private void FlushZeros()
    {
        while (_zeroEnd > _zeroStart)
        {
            long length = Math.Min(MaxZeroCall, _zeroEnd - _zeroStart);
            ZeroMethod method = _device.Zero(_zeroStart, length);
            _zeroed[method] = _zeroed.GetValueOrDefault(method) + length;
            Interlocked.Add(ref _bytesWritten, length);
            _zeroStart += length;
        }
        _zeroStart = _zeroEnd = 0;
    }

    /// <summary>The first bytes of the disk up to the end of the primary GPT entry array, kept from the frames that
    /// passed, for the relocation.</summary>
    public byte[]? DiskHead { get; set; }

    public override void Complete()
    {
        ZeroUpTo(_writableEnd);
        FlushZeros();
        if (_zeroed.Count > 0)
        {
            Log.Information("Restore onto {Target}: zeroed {Zeroed}", Name,
                string.Join(", ", _zeroed.Select(z => $"{z.Value} bytes by {z.Key}")));
        }
        ApplyFixups();
        if (RelocatesGpt)
        {
            WriteRelocatedGpt();
        }
        _device.Flush();
    }

    /// <summary>Asks the kernel to re-read the partition table; returns why it could not, or null.</summary>
    public string? RereadPartitions()
    {
        if (!_device.IsBlockDevice)
        {
            return null;
        }
        try
        {
            _device.RereadPartitions();
            return null;
        }
        catch (DeviceException e)
        {
            return $"the kernel did not re-read the partition table ({e.Message}); unplug and replug the disk or run partprobe";
        }
    }

    /// <summary>The restore steps the image names per partition, after every byte is written: today clearing
    /// INODE_ZEROED where an ext inode table's unused end was not copied (<see cref="ExtInodeTableFixup"/>).</summary>
    private void ApplyFixups()
    {
        foreach (PartitionInfo partition in _metadata.Partitions)
        {
            if (!(partition.Fixups ?? []).Contains(ExtInodeTableFixup.Name))
            {
                continue;
            }
            long blocks = 0;
            foreach (var (offset, block) in ExtInodeTableFixup.Patches(_device.Slice(partition.StartBytes, partition.SizeBytes)))
            {
                _device.WriteAt(partition.StartBytes + offset, block);
                blocks++;
            }
            Log.Information("Restore onto {Target}: partition {Partition}: INODE_ZEROED cleared in {Blocks} group descriptor block(s), " +
                "the kernel zeroes the unused inode-table ends after the first mount", Name, partition.Number, blocks);
        }
    }

    private void WriteRelocatedGpt()
    {
        int sector = _metadata.Table.SectorSize;
        byte[] head = DiskHead ?? throw new ImagingException($"{Name}: the image holds no primary GPT to relocate");
        if (head.Length < 2 * sector)
        {
            throw new ImagingException($"{Name}: the image's first {head.Length} bytes do not hold the primary GPT header");
        }
        GptHeader header = GptHeader.Parse(head.AsSpan(sector, sector));
        long entriesStart = (long)Math.Min(header.PartitionEntryLba, (ulong)(head.Length / sector)) * sector;
        long entriesBytes = Math.Min(header.EntryArrayBytes, GptHeader.MaxEntryArrayBytes);
        if (entriesStart + entriesBytes > head.Length || entriesStart < 2 * sector)
        {
            throw new DiskFormatException("GPT header", "PartitionEntryLBA", header.PartitionEntryLba, sector + 0x48,
                $"the entry array does not lie in the image's first {head.Length} bytes");
        }
        GptRelocation relocation = GptRelocation.Create(head.AsSpan(sector, sector), head.AsSpan((int)entriesStart, (int)entriesBytes),
            _device.Length / sector);
        byte[] mbr = head[..sector];
        if (relocation.UpdateProtectiveMbr(mbr))
        {
            _device.WriteAt(0, mbr);
        }
        _device.WriteAt(sector, relocation.PrimaryHeader);
        _device.WriteAt(relocation.BackupEntriesLba * sector, relocation.BackupEntries);
        _device.WriteAt(relocation.BackupHeaderLba * sector, relocation.BackupHeader);
    }

    public override void Dispose() => _device.Dispose();
}
