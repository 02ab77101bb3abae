using System.Text;

namespace LiveImager.Formats.ImageFormat;

/// <summary>Writes an image front to back to a stream that need not seek: header, metadata, used maps, data, log,
/// index, footer (docs/image-format.md, invariant 1).</summary>
/// <remarks>Not thread-safe: the pipeline's ordered writer stage is its only caller. The writer enforces the order and
/// the bounds the reader checks, so it cannot produce an image the reader would refuse.</remarks>
public sealed class ImageWriter : IDisposable
{
    private readonly Stream _output;
    private readonly List<IndexEntry> _index = [];
    private readonly List<UInt128> _hashes = [];
    private Stage _stage = Stage.Metadata;
    private long _position;
    private uint _nextFrame;
    private long _lastDiskEnd;
    private long _dataBytes;

    private readonly ImageKey? _key;
    private readonly FrameSealer? _sealer;

    private enum Stage { Metadata, UsedMaps, Data, Finished }

    /// <param name="passphrase">For an encrypted header (version 4): the passphrase that wraps the image's new random key.</param>
    public ImageWriter(Stream output, ImageHeader header, ImagePassphrase? passphrase = null)
    {
        _output = output;
        Header = header;
        Span<byte> bytes = stackalloc byte[ImageKeyHeader.Length];
        header.Write(bytes);
        Emit(bytes[..ImageHeader.Length]);
        if (header.IsIncremental && (header.IsEncrypted || !header.HasChunkHashes))
        {
            throw new InvalidOperationException($"an incremental image is version {ImageHeader.ChunkHashesVersion} and not encrypted");
        }
        if (header.IsEncrypted)
        {
            if (passphrase is null || header.Version < ImageHeader.EncryptedVersion)
            {
                throw new InvalidOperationException($"an encrypted image needs a passphrase and version {ImageHeader.EncryptedVersion}");
            }
            _key = ImageKey.Create(passphrase, header, out ImageKeyHeader keyHeader);
            _sealer = _key.CreateSealer(header.ImageId);
            keyHeader.Write(bytes);
            Emit(bytes);
        }
    }

    /// <summary>The number the next frame written gets: a capture's workers seal data frames ahead with it.</summary>
    public uint NextFrameNumber => _nextFrame;

    /// <summary>A sealer for a worker thread of an encrypted image (<see cref="WriteSealedData"/>); null for a plain one.</summary>
    public FrameSealer? CreateSealer() => _key?.CreateSealer(Header.ImageId);

    public ImageHeader Header { get; }

    /// <summary>Bytes of the logical image written so far.</summary>
    public long Position => _position;

    /// <summary>Raw bytes of the data frames written so far.</summary>
    public long DataBytes => _dataBytes;

    public void WriteMetadata(ImageMetadata metadata, FrameEncoder encoder) => WriteMetadata(metadata.ToJsonBytes(), encoder);

    /// <summary>Writes metadata JSON as given, unchecked: for tests that forge an image's metadata.</summary>
    internal void WriteMetadata(byte[] json, FrameEncoder encoder)
    {
        Expect(Stage.Metadata, "the metadata");
        WriteWhole(FrameType.Metadata, json, FrameHeader.MaxTextLength, encoder);
        _stage = Stage.UsedMaps;
    }

    /// <summary>Writes one partition's used-block bitmap (<see cref="FileSystems.UsedBlockMap.ToBitmap"/>) in chunk-sized pieces.</summary>
    public void WriteUsedMap(int partitionNumber, ReadOnlySpan<byte> bitmap, FrameEncoder encoder)
    {
        Expect(Stage.UsedMaps, "a used map");
        var stored = new byte[Math.Min(bitmap.Length, Header.ChunkSize)];
        for (int offset = 0; offset < bitmap.Length; offset += Header.ChunkSize)
        {
            ReadOnlySpan<byte> piece = bitmap.Slice(offset, Math.Min(Header.ChunkSize, bitmap.Length - offset));
            EncodedPayload payload = encoder.Encode(piece, stored);
            WriteFrame(FrameType.UsedMap, (uint)partitionNumber, offset, payload, stored);
        }
    }

    /// <summary>Writes a data frame for the disk bytes at <paramref name="diskPosition"/> that <paramref name="payload"/> encodes.</summary>
    public void WriteData(long diskPosition, in EncodedPayload payload, ReadOnlySpan<byte> stored)
    {
        BeginData(diskPosition, payload);
        WriteFrame(FrameType.Data, 0, diskPosition, payload, stored);
        EndData(diskPosition, payload);
    }

    /// <summary>Writes a reference frame of an incremental image: the raw bytes at <paramref name="diskPosition"/> are
    /// those of the base image's frame there, whose checksums <paramref name="payload"/> repeats (stored length 0).</summary>
    public void WriteReference(long diskPosition, in EncodedPayload payload)
    {
        if (!Header.IsIncremental || payload.Encoding != FrameEncoding.Reference || payload.StoredLength != 0)
        {
            throw new InvalidOperationException("only an incremental image holds reference frames, and they have no payload");
        }
        WriteData(diskPosition, payload, []);
    }

    /// <summary>Writes a data frame a worker sealed already with <see cref="FrameSealer.SealData"/> under
    /// <see cref="NextFrameNumber"/>: the encryption runs on the workers, not on this thread.</summary>
    public void WriteSealedData(long diskPosition, in EncodedPayload payload, ReadOnlySpan<byte> sealedFrame)
    {
        uint number = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(sealedFrame[0x08..]);
        if (_sealer is null || number != _nextFrame || sealedFrame.Length != payload.StoredLength + FrameSealer.Overhead)
        {
            throw new InvalidOperationException($"sealed frame {number} does not fit this image at frame {_nextFrame}");
        }
        BeginData(diskPosition, payload);
        Emit(sealedFrame);
        _nextFrame++;
        EndData(diskPosition, payload);
    }

    private void BeginData(long diskPosition, in EncodedPayload payload)
    {
        if (_stage == Stage.UsedMaps)
        {
            _stage = Stage.Data;
        }
        Expect(Stage.Data, "a data frame");
        if (payload.Encoding == FrameEncoding.Reference && !Header.IsIncremental)
        {
            throw new InvalidOperationException("a reference frame in an image that is not incremental");
        }
        if (payload.RawLength <= 0 || payload.RawLength > Header.ChunkSize || diskPosition < _lastDiskEnd
            || diskPosition / Header.ChunkSize != (diskPosition + payload.RawLength - 1) / Header.ChunkSize)
        {
            throw new InvalidOperationException(
                $"data frame at disk {diskPosition}+{payload.RawLength} breaks the frame order (previous end {_lastDiskEnd}) or crosses a chunk boundary");
        }
        _index.Add(new IndexEntry(diskPosition, _position, payload.RawLength, _nextFrame, payload.RawChecksum));
        _hashes.Add(payload.ContentHash);
    }

    private void EndData(long diskPosition, in EncodedPayload payload)
    {
        _lastDiskEnd = diskPosition + payload.RawLength;
        _dataBytes += payload.RawLength;
    }

    /// <summary>Writes the capture record (if any), the chunk hashes (version 5), the log, the index and the footer, then flushes the output. The image is complete after this.</summary>
    /// <param name="record">The capture record (version 3 images only), written before the log.</param>
    public ImageFooter Finish(string log, FrameEncoder encoder, CaptureRecord? record = null)
    {
        if (_stage == Stage.Finished)
        {
            throw new InvalidOperationException("the image is already finished");
        }
        if (record is not null)
        {
            if (Header.Version < ImageHeader.CaptureRecordVersion)
            {
                throw new InvalidOperationException($"a capture record needs image version {ImageHeader.CaptureRecordVersion}");
            }
            WriteWhole(FrameType.CaptureRecord, record.ToJsonBytes(), FrameHeader.MaxTextLength, encoder);
        }
        if (Header.HasChunkHashes)
        {
            WriteWhole(FrameType.ChunkHashes, new ChunkHashes(_hashes).ToBytes(), FrameHeader.MaxChunkHashesLength, encoder);
        }
        long logOffset = _position;
        WriteWhole(FrameType.Log, Encoding.UTF8.GetBytes(log), FrameHeader.MaxTextLength, encoder);
        long indexOffset = _position;
        byte[] index = new ImageIndex(_index).ToBytes();
        WriteWhole(FrameType.Index, index, FrameHeader.MaxIndexLength, encoder);
        // An encrypted image's footer keeps only where things are: how much data and its checksum stay sealed.
        var footer = _sealer is null
            ? new ImageFooter(VolumeLayout.VolumeCount(_position + ImageFooter.Length, Header.VolumeSize), Header.ImageId,
                indexOffset, logOffset, _index.Count, _dataBytes, ImageChecksum.Of(index))
            : new ImageFooter(VolumeLayout.VolumeCount(_position + ImageFooter.Length, Header.VolumeSize), Header.ImageId,
                indexOffset, logOffset, 0, 0, 0);
        Span<byte> bytes = stackalloc byte[ImageFooter.Length];
        footer.Write(bytes);
        Emit(bytes);
        _output.Flush();
        _stage = Stage.Finished;
        return footer;
    }

    private void WriteWhole(FrameType type, byte[] raw, int maxLength, FrameEncoder encoder)
    {
        if (raw.Length > maxLength)
        {
            throw new InvalidOperationException($"the {type} frame would be {raw.Length} bytes; the format allows {maxLength}");
        }
        var stored = new byte[raw.Length];
        EncodedPayload payload = encoder.Encode(raw, stored);
        WriteFrame(type, 0, 0, payload, stored);
    }

    private void WriteFrame(FrameType type, uint tag, long position, in EncodedPayload payload, ReadOnlySpan<byte> stored)
    {
        var header = new FrameHeader(type, payload.Encoding, _nextFrame, tag, position, payload.RawLength, payload.StoredLength,
            payload.RawChecksum, _position);
        if (_sealer is not null)
        {
            var frame = new byte[payload.StoredLength + FrameSealer.Overhead];
            stored[..payload.StoredLength].CopyTo(frame.AsSpan(FrameSealer.PayloadOffset));
            Emit(frame.AsSpan(0, _sealer.Seal(header, frame)));
        }
        else
        {
            Span<byte> bytes = stackalloc byte[FrameHeader.Length];
            header.Write(bytes);
            Emit(bytes);
            Emit(stored[..payload.StoredLength]);
        }
        _nextFrame++;
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _position += bytes.Length;
    }

    private void Expect(Stage stage, string what)
    {
        if (_stage != stage)
        {
            throw new InvalidOperationException($"{what} cannot be written now: the image is at its {_stage} stage");
        }
    }

    public void Dispose()
    {
        _sealer?.Dispose();
        _key?.Dispose();
    }
}
