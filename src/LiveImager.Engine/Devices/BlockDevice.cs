using System.Runtime.InteropServices;
using LiveImager.Formats;

namespace LiveImager.Engine.Devices;

/// <summary>A disk or a disk image file opened for raw I/O with O_DIRECT, so imaging bypasses (and does not evict) the page cache.</summary>
/// <remarks>
/// Block devices are opened with O_EXCL, which the kernel refuses while a partition is mounted, used as swap or held
/// by md/LVM/dm. Regular files are first-class: on a filesystem that refuses O_DIRECT (EINVAL) a file falls back to
/// buffered I/O; a block device never does. <see cref="ReadAligned"/>/<see cref="WriteAligned"/> are the hot path and
/// may be called from several threads at once; <see cref="ReadAt"/>/<see cref="WriteAt"/> take any offset and length,
/// going through one internal bounce buffer when the request is not aligned.
/// </remarks>
public sealed unsafe class BlockDevice : IBlockSource, IDisposable
{
    private const int FileLogicalSectorSize = 512;
    private const int FilePhysicalSectorSize = 4096;
    private const int MinimumAlignment = 4096;
    private const int BounceSize = 1 << 20;
    private const int CreateMode = 0x1A4; // 0644

    private readonly SafeFileDescriptorHandle _handle;
    private readonly bool _direct;
    // What O_DIRECT requires of offsets and lengths: the logical sector for a device; for a file the filesystem's
    // block, which Alignment (4096) covers on every filesystem the product writes images to.
    private readonly int _directGranularity;
    private readonly Lock _bounceLock = new();
    private byte* _bounce;
    private byte* _zeros;
    private bool _zeroCallUnsupported;
    private long _length;

    private BlockDevice(string path, SafeFileDescriptorHandle handle, bool direct)
    {
        Path = path;
        _handle = handle;
        _direct = direct;
        DeviceNode node = DeviceNode.FStat(handle, path);
        IsBlockDevice = node.IsBlockDevice;
        if (IsBlockDevice)
        {
            LogicalSectorSize = IoctlValue<int>(Interop.BLKSSZGET, "BLKSSZGET");
            PhysicalSectorSize = (int)IoctlValue<uint>(Interop.BLKPBSZGET, "BLKPBSZGET");
            _length = (long)IoctlValue<ulong>(Interop.BLKGETSIZE64, "BLKGETSIZE64");
        }
        else
        {
            LogicalSectorSize = FileLogicalSectorSize;
            PhysicalSectorSize = FilePhysicalSectorSize;
            _length = node.Size;
        }
        Alignment = Math.Max(MinimumAlignment, LogicalSectorSize);
        _directGranularity = IsBlockDevice ? LogicalSectorSize : Alignment;
    }

    /// <summary>The path it was opened by.</summary>
    public string Path { get; }

    /// <summary>True for a block device, false for a regular (image) file.</summary>
    public bool IsBlockDevice { get; }

    /// <summary>Size in bytes: BLKGETSIZE64 for a device, the current size for a file.</summary>
    public long Length => IsBlockDevice ? _length : Volatile.Read(ref _length);

    /// <summary>BLKSSZGET for a device; 512 for a file.</summary>
    public int LogicalSectorSize { get; }

    /// <summary>BLKPBSZGET for a device; 4096 for a file.</summary>
    public int PhysicalSectorSize { get; }

    /// <summary>The alignment of offsets, lengths and buffers on the hot path: max(4096, logical sector size).</summary>
    public int Alignment { get; }

    /// <summary>False when the file's filesystem refused O_DIRECT and buffered I/O is used instead.</summary>
    internal bool IsDirect => _direct;

    /// <summary>Opens a disk or image file for reading (O_RDONLY|O_DIRECT|O_CLOEXEC, and O_EXCL for a block device
    /// unless <paramref name="exclusive"/> is false: a look that must work on a disk in use, such as inspect).</summary>
    public static BlockDevice OpenRead(string path, bool exclusive = true) => Open(path, write: false, create: false, exclusive);

    /// <summary>Opens a disk or image file for writing (O_RDWR|O_DIRECT|O_CLOEXEC, and O_EXCL for a block device).
    /// Jobs open disks through the Engine's one in-use guard (Imaging's <c>DiskGuard</c>), which names what uses a disk;
    /// O_EXCL here is the kernel's refusal of a disk claimed after that check.</summary>
    /// <param name="create">Create a regular file when <paramref name="path"/> does not exist.</param>
    public static BlockDevice OpenWrite(string path, bool create = false) => Open(path, write: true, create, exclusive: true);

    private static BlockDevice Open(string path, bool write, bool create, bool exclusive)
    {
        bool isBlockDevice = false;
        bool exists = true;
        try
        {
            DeviceNode node = DeviceNode.Stat(path);
            if (!node.IsBlockDevice && !node.IsRegularFile)
            {
                throw new DeviceIoException(path, 0, $"{path} is neither a block device nor a regular file");
            }
            isBlockDevice = node.IsBlockDevice;
        }
        catch (DeviceNotFoundException) when (create)
        {
            exists = false;
        }

        // O_EXCL without O_CREAT means "exclusive claim" only for block devices; for files it is undefined.
        int flags = (write ? Interop.O_RDWR : Interop.O_RDONLY) | Interop.O_CLOEXEC
            | (isBlockDevice && exclusive ? Interop.O_EXCL : 0) | (exists ? 0 : Interop.O_CREAT);
        string operation = write ? "open for writing" : "open for reading";
        SafeFileDescriptorHandle handle = Interop.open(path, flags | Interop.O_DIRECT, CreateMode);
        bool direct = true;
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            if (errno != Interop.EINVAL || isBlockDevice)
            {
                throw Interop.GetExceptionForErrno(errno, path, operation);
            }
            // The filesystem refuses O_DIRECT (EINVAL): an image file still works through the page cache.
            handle = Interop.open(path, flags, CreateMode);
            direct = false;
            if (handle.IsInvalid)
            {
                errno = Marshal.GetLastPInvokeError();
                handle.Dispose();
                throw Interop.GetExceptionForErrno(errno, path, operation);
            }
        }
        try
        {
            return new BlockDevice(path, handle, direct);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; any offset and length inside <see cref="Length"/>.</summary>
    public void ReadAt(long offset, Span<byte> destination)
    {
        BlockSourceExtensions.CheckRange(Length, offset, destination.Length);
        fixed (byte* pointer = destination)
        {
            if (!_direct || IsDirectAligned(offset, destination.Length, pointer))
            {
                int read = PRead(offset, pointer, destination.Length);
                ThrowIfShort(offset, destination.Length, read);
                return;
            }
            lock (_bounceLock)
            {
                byte* bounce = Bounce();
                int done = 0;
                while (done < destination.Length)
                {
                    long position = offset + done;
                    long blockStart = position - position % _directGranularity;
                    int skip = (int)(position - blockStart);
                    int span = (int)Math.Min(BounceSize, RoundUp(skip + destination.Length - done, _directGranularity));
                    int usable = Math.Min(PRead(blockStart, bounce, span) - skip, destination.Length - done);
                    if (usable <= 0)
                    {
                        ThrowIfShort(offset, destination.Length, done);
                    }
                    new ReadOnlySpan<byte>(bounce + skip, usable).CopyTo(destination[done..]);
                    done += usable;
                }
            }
        }
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>; any offset and length (unaligned edges are
    /// read, patched and written back). A file grows to cover the write; a device must hold it.</summary>
    public void WriteAt(long offset, ReadOnlySpan<byte> source)
    {
        CheckWriteRange(offset, source.Length);
        fixed (byte* pointer = source)
        {
            if (!_direct || IsDirectAligned(offset, source.Length, pointer))
            {
                PWrite(offset, pointer, source.Length);
                GrowTo(offset + source.Length);
                return;
            }
            lock (_bounceLock)
            {
                long intendedLength = Math.Max(Length, offset + source.Length);
                byte* bounce = Bounce();
                int done = 0;
                long writtenEnd = 0;
                while (done < source.Length)
                {
                    long position = offset + done;
                    long blockStart = position - position % _directGranularity;
                    int skip = (int)(position - blockStart);
                    int span = (int)Math.Min(BounceSize, RoundUp(skip + source.Length - done, _directGranularity));
                    int take = Math.Min(span - skip, source.Length - done);
                    if (skip != 0 || take != span)
                    {
                        // An edge: keep the bytes around the write (zeros past the end of a file).
                        int read = PRead(blockStart, bounce, span);
                        new Span<byte>(bounce + read, span - read).Clear();
                    }
                    source.Slice(done, take).CopyTo(new Span<byte>(bounce + skip, take));
                    PWrite(blockStart, bounce, span);
                    done += take;
                    writtenEnd = blockStart + span;
                }
                if (!IsBlockDevice && writtenEnd > intendedLength)
                {
                    // The padded last block ran past the file's end; cut the file back to what was asked.
                    Interop.CheckIo(Interop.ftruncate(_handle, intendedLength), Path, "ftruncate");
                }
                GrowTo(intendedLength);
            }
        }
    }

    /// <summary>Hot-path read into a pool buffer: offset and length multiples of <see cref="Alignment"/>.</summary>
    /// <returns>The bytes read: the whole buffer, or fewer only at the end of the device or file.</returns>
    public int ReadAligned(long offset, Span<byte> alignedBuffer)
    {
        fixed (byte* pointer = alignedBuffer)
        {
            CheckAligned(offset, alignedBuffer.Length, pointer);
            return PRead(offset, pointer, alignedBuffer.Length);
        }
    }

    /// <summary>Hot-path write from a pool buffer at an offset that is a multiple of <see cref="Alignment"/>. The length
    /// is a multiple of the logical sector size for a device; a file also takes an unaligned tail (its last bytes).</summary>
    public void WriteAligned(long offset, ReadOnlySpan<byte> alignedBuffer)
    {
        CheckWriteRange(offset, alignedBuffer.Length);
        fixed (byte* pointer = alignedBuffer)
        {
            if (offset % Alignment != 0 || (nuint)pointer % MinimumAlignment != 0)
            {
                throw new ArgumentException($"offset {offset} or buffer is not aligned to {Alignment} bytes", nameof(alignedBuffer));
            }
            int head = _direct ? alignedBuffer.Length - alignedBuffer.Length % _directGranularity : alignedBuffer.Length;
            if (head != alignedBuffer.Length && IsBlockDevice)
            {
                throw new ArgumentException(
                    $"length {alignedBuffer.Length} is not a multiple of the {LogicalSectorSize}-byte logical sector", nameof(alignedBuffer));
            }
            PWrite(offset, pointer, head);
            GrowTo(offset + head);
            if (head != alignedBuffer.Length)
            {
                WriteAt(offset + head, alignedBuffer[head..]);
            }
        }
    }

    /// <summary>Truncates or extends an image file; a block device's size is fixed.</summary>
    public void SetLength(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (IsBlockDevice)
        {
            throw new InvalidOperationException($"{Path} is a block device; its size cannot change");
        }
        lock (_bounceLock)
        {
            Interop.CheckIo(Interop.ftruncate(_handle, length), Path, "ftruncate");
            Volatile.Write(ref _length, length);
        }
    }

    /// <summary>Makes written data durable: fsync, and for a device BLKFLSBUF so later readers do not see stale cache.</summary>
    public void Flush()
    {
        Interop.CheckIo(Interop.fsync(_handle), Path, "fsync");
        if (IsBlockDevice)
        {
            Interop.CheckIo(Interop.ioctl(_handle, Interop.BLKFLSBUF, null), Path, "BLKFLSBUF");
        }
    }

    /// <summary>The kernel's read-only flag of a block device (BLKROGET); false for a file.</summary>
    public bool IsKernelReadOnly()
    {
        if (!IsBlockDevice)
        {
            return false;
        }
        int value = 0;
        Interop.CheckIo(Interop.ioctl(_handle, Interop.BLKROGET, &value), Path, "BLKROGET");
        return value != 0;
    }

    /// <summary>Sets the kernel's read-only flag of a block device (BLKROSET, needs CAP_SYS_ADMIN): while set, the
    /// kernel refuses every write to it from anyone.</summary>
    public void SetKernelReadOnly(bool readOnly)
    {
        if (!IsBlockDevice)
        {
            throw new DeviceIoException(Path, 0, $"{Path} is a file, not a block device: the kernel has no read-only flag for it");
        }
        int value = readOnly ? 1 : 0;
        Interop.CheckIo(Interop.ioctl(_handle, Interop.BLKROSET, &value), Path, "BLKROSET");
    }

    /// <summary>Asks the kernel to re-read the partition table (BLKRRPART) after one was written; nothing for a file.</summary>
    public void RereadPartitions()
    {
        if (IsBlockDevice)
        {
            Interop.CheckIo(Interop.ioctl(_handle, Interop.BLKRRPART, null), Path, "BLKRRPART");
        }
    }

    /// <summary>Tells the device a range holds no data (BLKDISCARD); for a file, punches a hole of the same range.</summary>
    public void Discard(long offset, long length)
    {
        CheckWriteRange(offset, length);
        if (IsBlockDevice)
        {
            ulong* range = stackalloc ulong[2] { (ulong)offset, (ulong)length };
            Interop.CheckIo(Interop.ioctl(_handle, Interop.BLKDISCARD, range), Path, "BLKDISCARD");
        }
        else
        {
            Interop.CheckIo(Interop.fallocate(_handle, Interop.FALLOC_FL_PUNCH_HOLE | Interop.FALLOC_FL_KEEP_SIZE, offset, length),
                Path, "fallocate(PUNCH_HOLE)");
        }
    }

    /// <summary>Makes <paramref name="length"/> bytes from <paramref name="offset"/> read as zeros without moving zeros
    /// through memory where the kernel can: BLKZEROOUT on a device (WRITE ZEROES where the device has it, else the
    /// kernel writes zero pages itself), a punched hole in a file; zeros written from an aligned buffer only when the
    /// call is not supported. A file grows to cover the range.</summary>
    /// <remarks>BLKDISCARD is never used for this: since Linux 4.12 no device promises that discarded blocks read as
    /// zeros (discard_zeroes_data is always 0), and BLKZEROOUT already unmaps where that is safe. Not thread-safe
    /// against another <see cref="Zero"/> call; the hot-path writes may run alongside.</remarks>
    /// <returns>How the middle of the range was zeroed.</returns>
    public ZeroMethod Zero(long offset, long length)
    {
        CheckWriteRange(offset, length);
        if (length == 0)
        {
            return ZeroMethod.None;
        }
        long end = offset + length;
        if (!IsBlockDevice)
        {
            if (end > Length)
            {
                // The file's new bytes are a hole already.
                SetLength(end);
            }
            if (!_zeroCallUnsupported)
            {
                if (Interop.fallocate(_handle, Interop.FALLOC_FL_PUNCH_HOLE | Interop.FALLOC_FL_KEEP_SIZE, offset, length) == 0)
                {
                    return ZeroMethod.PunchHole;
                }
                NoteUnsupported("fallocate(PUNCH_HOLE)");
            }
            WriteZeros(offset, length);
            return ZeroMethod.Written;
        }
        // BLKZEROOUT takes whole logical sectors; partial sectors at the edges (none on the restore path, whose frames
        // are sector-aligned) are written.
        long first = RoundUp(offset, LogicalSectorSize);
        long last = end / LogicalSectorSize * LogicalSectorSize;
        if (last <= first || _zeroCallUnsupported)
        {
            WriteZeros(offset, length);
            return ZeroMethod.Written;
        }
        ulong* range = stackalloc ulong[2] { (ulong)first, (ulong)(last - first) };
        if (Interop.ioctl(_handle, Interop.BLKZEROOUT, range) != 0)
        {
            NoteUnsupported("BLKZEROOUT");
            WriteZeros(offset, length);
            return ZeroMethod.Written;
        }
        WriteZeros(offset, first - offset);
        WriteZeros(last, end - last);
        return ZeroMethod.ZeroOut;
    }

    /// <summary>After a failed zeroing call: remembers that the device or filesystem does not support it (so the
    /// fallback is taken at once from now on), or throws for any other error.</summary>
    private void NoteUnsupported(string operation)
    {
        int errno = Marshal.GetLastPInvokeError();
        if (errno is not (Interop.EOPNOTSUPP or Interop.EINVAL or Interop.ENOTTY))
        {
            throw Interop.GetExceptionForErrno(errno, Path, operation);
        }
        _zeroCallUnsupported = true;
    }

    private void WriteZeros(long offset, long length)
    {
        if (_zeros is null)
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            _zeros = (byte*)NativeMemory.AlignedAlloc(BounceSize, (nuint)Math.Max(MinimumAlignment, Alignment));
            NativeMemory.Clear(_zeros, BounceSize);
        }
        while (length > 0)
        {
            // Pieces end on BounceSize boundaries, so every piece but the edges is aligned and goes straight to pwrite.
            int piece = (int)Math.Min(BounceSize - offset % BounceSize, length);
            WriteAt(offset, new ReadOnlySpan<byte>(_zeros, piece));
            offset += piece;
            length -= piece;
        }
    }

    public void Dispose()
    {
        _handle.Dispose();
        lock (_bounceLock)
        {
            if (_bounce is not null)
            {
                NativeMemory.AlignedFree(_bounce);
                _bounce = null;
            }
            if (_zeros is not null)
            {
                NativeMemory.AlignedFree(_zeros);
                _zeros = null;
            }
        }
    }

    private T IoctlValue<T>(nuint request, string name) where T : unmanaged
    {
        T value = default;
        Interop.CheckIo(Interop.ioctl(_handle, request, &value), Path, name);
        return value;
    }

    private byte* Bounce()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_bounce is null)
        {
            _bounce = (byte*)NativeMemory.AlignedAlloc(BounceSize, (nuint)Math.Max(MinimumAlignment, Alignment));
        }
        return _bounce;
    }

    /// <summary>Reads until <paramref name="count"/> bytes or the end; returns how many were read.</summary>
    private int PRead(long offset, byte* buffer, int count)
    {
        int done = 0;
        while (done < count)
        {
            nint read = Interop.pread(_handle, buffer + done, (nuint)(count - done), offset + done);
            if (read < 0 && Marshal.GetLastPInvokeError() == Interop.EINTR)
            {
                continue;
            }
            if (Interop.CheckIo(read, Path, $"pread at {offset + done}") == 0)
            {
                break;
            }
            done += (int)read;
        }
        return done;
    }

    private void PWrite(long offset, byte* buffer, int count)
    {
        int done = 0;
        while (done < count)
        {
            nint written = Interop.pwrite(_handle, buffer + done, (nuint)(count - done), offset + done);
            if (written < 0 && Marshal.GetLastPInvokeError() == Interop.EINTR)
            {
                continue;
            }
            if (Interop.CheckIo(written, Path, $"pwrite at {offset + done}") == 0)
            {
                throw new NoSpaceException(Path, 0, $"pwrite at {offset + done} on {Path} wrote nothing");
            }
            done += (int)written;
        }
    }

    private bool IsDirectAligned(long offset, int length, byte* pointer) =>
        offset % _directGranularity == 0 && length % _directGranularity == 0 && (nuint)pointer % MinimumAlignment == 0;

    private void CheckAligned(long offset, int length, byte* pointer)
    {
        if (offset < 0 || offset % Alignment != 0 || length % Alignment != 0 || (nuint)pointer % MinimumAlignment != 0)
        {
            throw new ArgumentException($"offset {offset}, length {length} or the buffer is not aligned to {Alignment} bytes");
        }
    }

    private void CheckWriteRange(long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (IsBlockDevice && length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{offset}+{length} lies outside the {Length}-byte device {Path}");
        }
    }

    private void ThrowIfShort(long offset, int expected, int read)
    {
        if (read < expected)
        {
            throw new DeviceIoException(Path, 0, $"{Path} ended after {offset + read} bytes while reading {expected} at {offset}");
        }
    }

    private void GrowTo(long end)
    {
        if (IsBlockDevice)
        {
            return;
        }
        long current;
        while (end > (current = Volatile.Read(ref _length)) && Interlocked.CompareExchange(ref _length, end, current) != current)
        {
        }
    }

    private static long RoundUp(long value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
