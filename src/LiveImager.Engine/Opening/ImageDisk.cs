using System.Buffers;
using System.Collections.Concurrent;
using LiveImager.Engine.Imaging;
using LiveImager.Formats;
using LiveImager.Formats.FileSystems.Ext;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Opening;

/// <summary>The disk an image holds, read at any offset without restoring it: bytes a data frame covers come from that
/// frame (found through the index, decoded and checked, kept in a bounded cache), every other byte is zero, and the
/// restore steps the metadata names (<see cref="PartitionInfo.Fixups"/>) are applied as a restore applies them, so an
/// opened image reads exactly as a restore onto a blank disk.</summary>
/// <remarks>Thread-safe: frames are read from the image under one lock and decoded on the callers' threads.</remarks>
public sealed class ImageDisk : IDisposable
{
    /// <summary>Decoded frames kept by default: 64 MiB, sixteen 4 MiB chunks.</summary>
    public const long DefaultCacheBytes = 64L << 20;

    private readonly ImageFile _file;

    /// <summary>An incremental image's bases, where its reference frames' bytes are; null for a full image.</summary>
    private readonly ImageChain? _chain;
    private readonly Lock _fileLock = new();
    private readonly IndexEntry[] _frames;
    private readonly FrameCache _cache;
    private readonly ConcurrentBag<FrameDecoder> _decoders = [];
    private readonly List<(long DiskOffset, byte[] Block)> _patches = [];
    private long _framesDecoded;

    private ImageDisk(string name, Stream volumes, long cacheBytes, ImagePassphrase? passphrase)
    {
        Name = name;
        _file = new ImageFile(volumes, passphrase);
        _chain = ImageChain.Open(name, _file.Header, _file.Metadata);
        try
        {
            Size = _file.Metadata.Source.SizeBytes;
            _frames = [.. _file.Index.Entries];
            if (_frames.Length > 0 && _frames[^1].DiskEnd > Size)
            {
                IndexEntry last = _frames[^1];
                throw new DiskFormatException("image index", $"entry {_frames.Length - 1}", $"disk {last.DiskPosition}+{last.RawLength}",
                    _file.Footer.IndexOffset, $"ends past the {Size}-byte disk the metadata describes");
            }
            ChunkSize = _file.Header.ChunkSize;
            _cache = new FrameCache((int)Math.Max(2, cacheBytes / ChunkSize), ChunkSize);
            // Worked out from the image's own bytes before any is served: a few descriptor blocks per partition.
            var unpatched = new DiskSource(this);
            foreach (PartitionInfo partition in Metadata.Partitions.Where(p => (p.Fixups ?? []).Contains(ExtInodeTableFixup.Name)))
            {
                foreach (var (offset, block) in ExtInodeTableFixup.Patches(unpatched.Slice(partition.StartBytes, partition.SizeBytes)))
                {
                    _patches.Add((partition.StartBytes + offset, block));
                }
            }
            _cache.Clear();
        }
        catch
        {
            _chain?.Dispose();
            throw;
        }
    }

    /// <summary>Opens the image at <paramref name="path"/> (split volumes included) and checks its header, footer,
    /// metadata and index.</summary>
    /// <param name="passphrase">An encrypted image's passphrase; the caller disposes it.</param>
    public static ImageDisk Open(string path, long cacheBytes = DefaultCacheBytes, ImagePassphrase? passphrase = null)
    {
        if (path == "-")
        {
            throw new ImagingException("an image can be opened only from a file, not from standard input: random access needs its index");
        }
        // An image in an opened s3:// store is read by ranged GETs of 1 MiB around what the index points at.
        if (Targets.S3Store.Find(path) is null && !File.Exists(path))
        {
            throw new ImagingException(File.Exists(path + ".partial")
                ? $"{path} does not exist, but {path}.partial does: that capture did not finish, and its image is incomplete"
                : $"{path} does not exist");
        }
        Stream volumes = ImageInput.OpenVolumes(path);
        try
        {
            return new ImageDisk(path, volumes, cacheBytes, passphrase);
        }
        catch
        {
            volumes.Dispose();
            throw;
        }
    }

    /// <summary>The image's path, for messages.</summary>
    public string Name { get; }

    /// <summary>Bytes of the captured disk.</summary>
    public long Size { get; }

    public int ChunkSize { get; }

    public ImageMetadata Metadata => _file.Metadata;

    /// <summary>The data frames in disk order.</summary>
    public IReadOnlyList<IndexEntry> Frames => _frames;

    /// <summary>Decoded frames the cache holds at most.</summary>
    public int CacheFrames => _cache.Capacity;

    /// <summary>Frames decoded so far (cache misses).</summary>
    public long FramesDecoded => Interlocked.Read(ref _framesDecoded);

    /// <summary>Fills <paramref name="destination"/> with the disk's bytes from <paramref name="offset"/>; throws
    /// <see cref="DiskFormatException"/> naming the frame when a frame the range touches is damaged.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset > Size || destination.Length > Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}+{destination.Length} lie past the end of the {Size}-byte disk");
        }
        long position = offset;
        int frame = FirstFrameEndingAfter(position);
        while (!destination.IsEmpty)
        {
            if (frame >= _frames.Length || _frames[frame].DiskPosition >= position + destination.Length)
            {
                destination.Clear();
                return;
            }
            IndexEntry entry = _frames[frame];
            if (entry.DiskPosition > position)
            {
                int gap = (int)(entry.DiskPosition - position);
                destination[..gap].Clear();
                destination = destination[gap..];
                position += gap;
            }
            int inFrame = (int)(position - entry.DiskPosition);
            int length = Math.Min(destination.Length, entry.RawLength - inFrame);
            CopyFromFrame(frame, inFrame, destination[..length]);
            destination = destination[length..];
            position += length;
            frame++;
        }
    }

    /// <summary>Decodes frame <paramref name="frame"/> (an index into <see cref="Frames"/>) into
    /// <paramref name="raw"/>, bypassing the cache: for a reader that takes each frame once, front to back.</summary>
    public void ReadFrame(int frame, Span<byte> raw)
    {
        byte[] stored = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            FrameHeader header = ReadStored(_frames[frame], stored);
            Decode(header, stored, raw);
            ApplyPatches(_frames[frame], raw);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stored);
        }
    }

    private void CopyFromFrame(int frame, int offset, Span<byte> destination)
    {
        if (_cache.TryCopy(frame, offset, destination))
        {
            return;
        }
        byte[] raw = _cache.Rent();
        try
        {
            ReadFrame(frame, raw);
        }
        catch
        {
            _cache.Return(raw);
            throw;
        }
        raw.AsSpan(offset, destination.Length).CopyTo(destination);
        _cache.Add(frame, raw);
    }

    /// <summary>Lays the restore steps' blocks over a decoded frame.</summary>
    private void ApplyPatches(in IndexEntry entry, Span<byte> raw)
    {
        foreach (var (diskOffset, block) in _patches)
        {
            long start = Math.Max(diskOffset, entry.DiskPosition);
            long end = Math.Min(diskOffset + block.Length, entry.DiskEnd);
            if (start < end)
            {
                block.AsSpan((int)(start - diskOffset), (int)(end - start)).CopyTo(raw[(int)(start - entry.DiskPosition)..]);
            }
        }
    }

    /// <summary>The disk as an <see cref="IBlockSource"/>, for the parsers that find the restore steps' blocks.</summary>
    private sealed class DiskSource(ImageDisk disk) : IBlockSource
    {
        public long Length => disk.Size;

        public void ReadAt(long offset, Span<byte> destination) => disk.Read(offset, destination);
    }

    private FrameHeader ReadStored(in IndexEntry entry, byte[] stored)
    {
        lock (_fileLock)
        {
            FrameHeader header = _file.ReadDataHeader(entry);
            _file.ReadPayload(header, stored);
            return header;
        }
    }

    private void Decode(in FrameHeader header, byte[] stored, Span<byte> raw)
    {
        FrameDecoder decoder = _decoders.TryTake(out FrameDecoder? pooled) ? pooled : new FrameDecoder();
        try
        {
            if (header.Encoding == FrameEncoding.Reference && _chain is not null)
            {
                // A reference frame has no payload: the stored buffer is free for the base frame's.
                _chain.Read(header, decoder, stored, raw);
            }
            else
            {
                decoder.Decode(header, stored, raw);
            }
            Interlocked.Increment(ref _framesDecoded);
        }
        finally
        {
            _decoders.Add(decoder);
        }
    }

    /// <summary>The first frame whose end lies after <paramref name="position"/>: frames are in disk order and never
    /// overlap (image-format.md invariant 3), so their ends ascend too.</summary>
    private int FirstFrameEndingAfter(long position)
    {
        int low = 0;
        int high = _frames.Length;
        while (low < high)
        {
            int middle = low + ((high - low) / 2);
            if (_frames[middle].DiskEnd <= position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    public void Dispose()
    {
        _chain?.Dispose();
        _file.Dispose();
        while (_decoders.TryTake(out FrameDecoder? decoder))
        {
            decoder.Dispose();
        }
    }
}
