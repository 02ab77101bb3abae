using LiveImager.Engine.Devices;
using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Partitions;

namespace LiveImager.Engine.Imaging;

/// <summary>One disk or file a restore writes: frames at their offsets with O_DIRECT, unused space discarded or
/// zeroed on request, and the GPT backup moved to the end of a disk of another size.</summary>
internal sealed class RestoreTarget : FrameSink
{
    private readonly BlockDevice _device;
    private readonly ImageMetadata _metadata;
    private readonly bool _zeroUnused;
    private readonly long _writableEnd;
    private readonly long _gptBackupStart;
    private readonly byte[]? _zeros;
    private long _lastEnd;
    private volatile RestoreTargetState _state;

    private RestoreTarget(BlockDevice device, ImageMetadata metadata, bool zeroUnused, int chunkSize) : base(device.Path)
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
        if (zeroUnused)
        {
            _zeros = GC.AllocateArray<byte>(chunkSize, pinned: true);
        }
    }

    /// <summary>Where this target stands; a failure outranks the stage the job has moved it to. Read from other threads.</summary>
    public RestoreTargetState State
    {
        get => Failure is null ? _state : RestoreTargetState.Failed;
        set => _state = value;
    }

    /// <summary>True when the target's size differs from the source's and its GPT backup is rewritten at the end.</summary>
    public bool RelocatesGpt { get; }

    /// <summary>Opens <paramref name="path"/> and checks it can take the image, before anything is written.</summary>
    /// <exception cref="ImagingException">The target is in use, the boot medium, a partition, or smaller than the end
    /// of the image's last partition.</exception>
    public static RestoreTarget Open(string path, ImageMetadata metadata, bool zeroUnused, int chunkSize, DiskScanner scanner)
    {
        DiskInfo? disk = DiskGuard.CheckTarget(path, scanner);
        BlockDevice device = BlockDevice.OpenWrite(path, create: disk is null);
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
            return new RestoreTarget(device, metadata, zeroUnused, chunkSize);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>Frames never overlap, so several writes go to the device at once; zeroing the gaps between frames
    /// (<c>--zero-unused</c>) needs them in order, one at a time.</summary>
    public override int Writers => _zeros is null ? StageSizing.IoWorkers : 1;

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
        _device.WriteAligned(frame.Position, raw[..Aligned(length)]);
        _lastEnd = end;
        CountDone(length);
    }

    /// <summary>A length rounded up to whole logical sectors; the tail of the last frame of a disk is whole sectors
    /// already, and a file takes any length.</summary>
    private int Aligned(int length) => _device.IsBlockDevice
        ? (length + _device.LogicalSectorSize - 1) / _device.LogicalSectorSize * _device.LogicalSectorSize
        : length;

    private void ZeroUpTo(long position)
    {
        if (_zeros is null)
        {
            return;
        }
        while (_lastEnd < position)
        {
            int piece = (int)Math.Min(_zeros.Length - _lastEnd % _zeros.Length, position - _lastEnd);
            _device.WriteAt(_lastEnd, _zeros.AsSpan(0, piece));
            _lastEnd += piece;
        }
    }

    /// <summary>The first bytes of the disk up to the end of the primary GPT entry array, kept from the frames that
    /// passed, for the relocation.</summary>
    public byte[]? DiskHead { get; set; }

    public override void Complete()
    {
        if (_zeroUnused)
        {
            ZeroUpTo(_writableEnd);
        }
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
