using LiveImager.Engine.Devices;
using LiveImager.Formats;
using LiveImager.Formats.Clonezilla;
using LiveImager.Formats.FileSystems.Ntfs;
using LiveImager.Formats.FileSystems.Swap;
using LiveImager.Formats.Partitions;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>Reads a Clonezilla image as the bytes of its disk, in disk order: the table writes, each partition's used
/// blocks (every partclone checksum checked) or raw bytes, a recreated swap header, the NTFS backup boot sector rebuilt
/// from the primary, and the backup GPT. Each piece comes in an aligned buffer the receiver disposes.</summary>
internal static class ClonezillaDiskReader
{
    /// <summary>Bytes handed over at most at once.</summary>
    public const int ChunkBytes = 4 << 20;

    /// <summary>Emits every piece; <paramref name="emit"/> takes the disk offset, the length and the buffer (its own
    /// from then on).</summary>
    /// <exception cref="DiskFormatException">A checksum does not match, a stream ends early or a decoder fails: the
    /// message names the partition, block and image file.</exception>
    public static void Read(ClonezillaLayout layout, AlignedBufferPool pool, Action<long, int, AlignedBuffer> emit, CancellationToken cancellationToken)
    {
        var steps = new List<(long Offset, Action Run)>();
        foreach (ClonezillaTableWrite write in layout.TableWrites)
        {
            steps.Add((write.Offset, () => EmitBytes(pool, write.Offset, write.Bytes, emit, cancellationToken)));
        }
        foreach (ClonezillaPartitionImage image in layout.Image.Images)
        {
            PartitionEntry entry = layout.Partition(image.Number);
            steps.Add((entry.StartBytes, () =>
            {
                Log.Information("Clonezilla restore: partition {Partition} from {Files}", image.Number, string.Join(", ", image.Pieces));
                if (image.IsRaw)
                {
                    ReadRaw(layout, image, entry, pool, emit, cancellationToken);
                }
                else
                {
                    ReadPartclone(layout, image, entry, pool, emit, cancellationToken);
                }
            }));
        }
        foreach (ClonezillaSwap swap in layout.Image.Swaps)
        {
            PartitionEntry entry = layout.Partition(swap.Number);
            steps.Add((entry.StartBytes, () =>
            {
                var page = new byte[SwapHeader.MinPageSize];
                SwapHeader.Build(page, entry.SizeBytes, swap.Uuid is null ? Guid.NewGuid() : Guid.Parse(swap.Uuid), swap.Label);
                Log.Information("Clonezilla restore: partition {Partition}: swap recreated with UUID {Uuid} and label {Label}",
                    swap.Number, swap.Uuid, swap.Label);
                EmitBytes(pool, entry.StartBytes, page, emit, cancellationToken);
            }));
        }
        foreach (var (_, run) in steps.OrderBy(s => s.Offset))
        {
            cancellationToken.ThrowIfCancellationRequested();
            run();
        }
    }

    private static void ReadPartclone(ClonezillaLayout layout, ClonezillaPartitionImage image, PartitionEntry entry, AlignedBufferPool pool,
        Action<long, int, AlignedBuffer> emit, CancellationToken cancellationToken)
    {
        using Stream stream = ClonezillaInput.OpenPartition(layout.Directory, image);
        PartcloneReader reader = ClonezillaInput.Guard(image, () => new PartcloneReader(stream, image.Describe()));
        int blockSize = reader.Header.BlockSize;
        if (pool.BufferSize < blockSize)
        {
            throw new DiskFormatException($"partclone header of {image.Describe()}", "block_size", blockSize, 0x54,
                $"is larger than the {pool.BufferSize}-byte buffers of this restore");
        }
        byte[]? bootSector = null;
        while (true)
        {
            AlignedBuffer buffer = pool.Rent(cancellationToken);
            int blocks;
            long first;
            try
            {
                (blocks, first) = ClonezillaInput.Guard(image, () =>
                {
                    int count = reader.ReadRun(buffer.Span, out long firstBlock);
                    return (count, firstBlock);
                });
            }
            catch
            {
                buffer.Dispose();
                throw;
            }
            if (blocks == 0)
            {
                buffer.Dispose();
                break;
            }
            if (first == 0 && layout.NtfsBackups.ContainsKey(image.Device))
            {
                bootSector = buffer.Span[..NtfsBootSector.Size].ToArray();
            }
            emit(entry.StartBytes + first * blockSize, blocks * blockSize, buffer);
        }
        if (bootSector is not null)
        {
            long backup = entry.StartBytes + layout.NtfsBackups[image.Device];
            Log.Information("Clonezilla restore: partition {Partition}: NTFS backup boot sector rebuilt from the primary at byte {Offset}",
                image.Number, backup);
            EmitBytes(pool, backup, bootSector, emit, cancellationToken);
        }
    }

    private static void ReadRaw(ClonezillaLayout layout, ClonezillaPartitionImage image, PartitionEntry entry, AlignedBufferPool pool,
        Action<long, int, AlignedBuffer> emit, CancellationToken cancellationToken)
    {
        using Stream stream = ClonezillaInput.OpenPartition(layout.Directory, image);
        long position = 0;
        while (true)
        {
            AlignedBuffer buffer = pool.Rent(cancellationToken);
            int read;
            try
            {
                int want = (int)Math.Min(Math.Min(ChunkBytes, pool.BufferSize), entry.SizeBytes - position);
                read = want <= 0 ? 0 : ClonezillaInput.Guard(image, () => stream.ReadAtLeast(buffer.Span[..want], want, throwOnEndOfStream: false));
                if (read == 0 && position < entry.SizeBytes || read % 512 != 0)
                {
                    throw new DiskFormatException($"Clonezilla image of {image.Describe()}",
                        $"the raw image ends after {position + read} bytes; partition {entry.Number} is {entry.SizeBytes}: the image is truncated");
                }
                if (read == 0 && stream.ReadByte() >= 0)
                {
                    throw new DiskFormatException($"Clonezilla image of {image.Describe()}",
                        $"the raw image is larger than partition {entry.Number} ({entry.SizeBytes} bytes)");
                }
            }
            catch
            {
                buffer.Dispose();
                throw;
            }
            if (read == 0)
            {
                buffer.Dispose();
                return;
            }
            emit(entry.StartBytes + position, read, buffer);
            position += read;
        }
    }

    private static void EmitBytes(AlignedBufferPool pool, long offset, byte[] bytes, Action<long, int, AlignedBuffer> emit, CancellationToken cancellationToken)
    {
        for (int done = 0; done < bytes.Length;)
        {
            AlignedBuffer buffer = pool.Rent(cancellationToken);
            int length = Math.Min(bytes.Length - done, pool.BufferSize);
            bytes.AsSpan(done, length).CopyTo(buffer.Span);
            emit(offset + done, length, buffer);
            done += length;
        }
    }
}
