using System.Buffers.Binary;
using System.Text;

namespace LiveImager.Formats.ImageFormat;

/// <summary>Reads an image front to back from a stream that need not seek (a pipe, stdin), checking its structure as
/// it goes; the caller decodes data frames (on its workers) with a <see cref="FrameDecoder"/>.</summary>
/// <remarks>The constructor reads and validates the header and the metadata, so a caller learns of a bad image before
/// it touches a target (docs/image-format.md, invariant 5). The footer is checked against everything read before it.</remarks>
public sealed class ImageReader : IDisposable
{
    private readonly Stream _input;
    private readonly FrameDecoder _decoder = new();
    private readonly List<IndexEntry> _seen = [];
    private readonly byte[] _headerBytes = new byte[ImageFooter.Length];
    private uint _nextFrame;
    private long _lastDiskEnd;
    private long _dataBytes;
    private long _logOffset = -1;
    private long _indexOffset = -1;
    private ulong _indexChecksum;
    private UsedMapTally? _usedMaps;
    private byte[]? _mapStored;
    private bool _pastUsedMaps;
    private readonly ImageKey? _key;
    private readonly FrameSealer? _sealer;
    private byte[] _sealed = [];
    private int _openedPayloadLength = -1;

    /// <param name="passphrase">The passphrase of an encrypted image; without it an encrypted image throws
    /// <see cref="ImagePassphraseException"/>, as does a wrong one, before any frame is read.</param>
    public ImageReader(Stream input, ImagePassphrase? passphrase = null)
    {
        _input = input;
        ReadExactly(_headerBytes.AsSpan(0, ImageHeader.Length), "the image header");
        Header = ImageHeader.Parse(_headerBytes.AsSpan(0, ImageHeader.Length));
        if (Header.IsEncrypted)
        {
            var keyBytes = new byte[ImageKeyHeader.Length];
            ReadExactly(keyBytes, "the image key header");
            ImageKeyHeader keyHeader = ImageKeyHeader.Parse(keyBytes);
            if (passphrase is null)
            {
                throw new ImagePassphraseException("the image is encrypted: give its passphrase (--passphrase-file FILE, $LIVEIMAGER_PASSPHRASE, or type it when asked)");
            }
            _key = ImageKey.Unlock(passphrase, Header, keyHeader);
            _sealer = _key.CreateSealer(Header.ImageId);
        }
        FrameHeader frame = ReadFrameHeader(default, out _) ?? throw Truncated("the metadata frame");
        if (frame.Type != FrameType.Metadata || frame.FrameNumber != 0)
        {
            throw new DiskFormatException(frame.Describe(), "type", frame.Type, frame.ImageOffset, "the first frame must be the metadata");
        }
        Metadata = ImageMetadata.Parse(ReadWhole(frame), frame.ImageOffset);
        Metadata.CheckAgainst(Header, frame.ImageOffset);
        _usedMaps = new UsedMapTally(Metadata);
    }

    public ImageHeader Header { get; }
    public ImageMetadata Metadata { get; }

    /// <summary>Bytes of the image read so far.</summary>
    public long Position { get; private set; }

    /// <summary>The capture log, once the reader has passed it.</summary>
    public string? Log { get; private set; }

    /// <summary>The capture record (a rescue capture's bad-range map), once the reader has passed it.</summary>
    public CaptureRecord? Record { get; private set; }

    /// <summary>The chunk hashes (version 5), once the reader has passed them.</summary>
    public ChunkHashes? Hashes { get; private set; }

    /// <summary>The validated footer, once <see cref="TryReadData"/> has returned false.</summary>
    public ImageFooter? Footer { get; private set; }

    /// <summary>Called with each used-map frame's header and checked raw bytes; when null they are checked and dropped.</summary>
    public Action<FrameHeader, byte[]>? UsedMapRead { get; set; }

    /// <summary>A sealer for one of the caller's workers (to open what <see cref="TryReadData(Span{byte}, int, out FrameHeader, out SealedData?)"/>
    /// left sealed); null for an image that is not encrypted.</summary>
    public FrameSealer? CreateSealer() => _key?.CreateSealer(Header.ImageId);

    /// <summary>Reads the next data frame's header, and its stored payload into <paramref name="stored"/> (at least
    /// chunk size). Returns false when the footer has been read and found consistent: the image is complete.</summary>
    public bool TryReadData(Span<byte> stored, out FrameHeader header) => TryRead(stored, 0, out header, out _);

    /// <summary>As <see cref="TryReadData(Span{byte}, out FrameHeader)"/>, with the payload read to
    /// <paramref name="buffer"/>[<paramref name="payloadOffset"/>..] (at least chunk size), except that an encrypted
    /// image's data frame is left sealed, so that the caller's workers decrypt in parallel while this reader reads on:
    /// <paramref name="sealedData"/> is then set, the frame's sealed header lies in the <see cref="FrameHeader.Length"/>
    /// bytes before <paramref name="payloadOffset"/>, and the frame must be opened with <see cref="FrameSealer.OpenData"/>
    /// before any of its bytes is used. <paramref name="header"/> is the frame's own header as read from the key
    /// stream: every check of order and place is made on it here, and OpenData holds the authenticated header to it.</summary>
    public bool TryReadData(Span<byte> buffer, int payloadOffset, out FrameHeader header, out SealedData? sealedData)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(payloadOffset, FrameHeader.Length);
        return TryRead(buffer, payloadOffset, out header, out sealedData);
    }

    /// <param name="payloadOffset">0: every frame opened here; else data frames left sealed (see the public overload).</param>
    private bool TryRead(Span<byte> buffer, int payloadOffset, out FrameHeader header, out SealedData? sealedData)
    {
        Span<byte> stored = buffer[payloadOffset..];
        Span<byte> leaveSealedIn = payloadOffset == 0 ? default : buffer[(payloadOffset - FrameHeader.Length)..];
        if (_pastUsedMaps)
        {
            throw new InvalidOperationException("this reader was used for the used maps alone and is past them");
        }
        while (true)
        {
            FrameHeader? next = ReadFrameHeader(leaveSealedIn, out sealedData);
            if (next is not { } frame)
            {
                header = default;
                return false;
            }
            if (frame.Type != FrameType.UsedMap && _usedMaps is not null)
            {
                _usedMaps.Complete(frame.ImageOffset);
                _usedMaps = null;
            }
            switch (frame.Type)
            {
                case FrameType.UsedMap when _usedMaps is not null:
                    _usedMaps.Precheck(frame);
                    byte[] map = ReadWhole(frame);
                    _usedMaps.Add(frame, map);
                    UsedMapRead?.Invoke(frame, map);
                    break;
                case FrameType.Data when _logOffset < 0 && Record is null && Hashes is null:
                    if (sealedData is { } pending)
                    {
                        try
                        {
                            CheckDataOrder(frame);
                        }
                        catch (DiskFormatException)
                        {
                            OpenToNameDamage(pending, leaveSealedIn);
                            throw;
                        }
                    }
                    else
                    {
                        CheckDataOrder(frame);
                        ReadPayload(frame, stored);
                    }
                    _seen.Add(new IndexEntry(frame.Position, frame.ImageOffset, frame.RawLength, frame.FrameNumber, frame.RawChecksum));
                    _lastDiskEnd = frame.Position + frame.RawLength;
                    _dataBytes += frame.RawLength;
                    header = frame;
                    return true;
                case FrameType.CaptureRecord when _logOffset < 0 && Record is null && Hashes is null && Header.Version >= ImageHeader.CaptureRecordVersion:
                    Record = CaptureRecord.Parse(ReadWhole(frame), frame.ImageOffset, Metadata.Source.SizeBytes);
                    break;
                case FrameType.ChunkHashes when _logOffset < 0 && Hashes is null && Header.HasChunkHashes:
                    Hashes = ChunkHashes.Parse(ReadWhole(frame), _seen.Count, frame.ImageOffset);
                    break;
                case FrameType.Log when _logOffset < 0 && (Hashes is not null || !Header.HasChunkHashes):
                    _logOffset = frame.ImageOffset;
                    Log = Encoding.UTF8.GetString(ReadWhole(frame));
                    break;
                case FrameType.Index when _logOffset >= 0 && _indexOffset < 0:
                    _indexOffset = frame.ImageOffset;
                    _indexChecksum = frame.RawChecksum;
                    CheckIndex(ImageIndex.Parse(ReadWhole(frame), frame.ImageOffset, Header.ChunkSize), frame);
                    break;
                default:
                    throw new DiskFormatException(frame.Describe(), "type", frame.Type, frame.ImageOffset,
                        "is out of order (expected metadata, used maps, data, capture record, chunk hashes, log, index, footer)");
            }
        }
    }

    /// <summary>Reads the next used-map frame, checked, into <paramref name="raw"/> (at least chunk size): one piece at
    /// a time, so a caller can walk a large map without holding it. Returns false at the first frame that is not a
    /// used map; the reader has then read that frame's header and serves for nothing more.</summary>
    public bool TryReadUsedMap(Span<byte> raw, out FrameHeader header)
    {
        header = default;
        if (_pastUsedMaps || ReadFrameHeader(default, out _) is not { } frame || frame.Type != FrameType.UsedMap)
        {
            _pastUsedMaps = true;
            return false;
        }
        _usedMaps?.Precheck(frame);
        _mapStored ??= new byte[Header.ChunkSize];
        ReadPayload(frame, _mapStored);
        _decoder.Decode(frame, _mapStored.AsSpan(0, frame.StoredLength), raw);
        _usedMaps?.Add(frame, raw[..frame.RawLength]);
        header = frame;
        return true;
    }

    /// <summary>Reads every remaining frame, decoding and checking each, to the footer; returns the data frames checked.</summary>
    public long ReadToEnd()
    {
        var stored = new byte[Header.ChunkSize];
        var raw = new byte[Header.ChunkSize];
        long frames = 0;
        while (TryReadData(stored, out FrameHeader frame))
        {
            _decoder.Decode(frame, stored, raw);
            frames++;
        }
        return frames;
    }

    private void CheckDataOrder(in FrameHeader frame)
    {
        if (frame.Encoding == FrameEncoding.Reference && !Header.IsIncremental)
        {
            throw new DiskFormatException(frame.Describe(), "encoding", frame.Encoding, frame.ImageOffset,
                "refers to a base image, but this image is not incremental");
        }
        long end = frame.Position + frame.RawLength;
        if (frame.Position < _lastDiskEnd || end > Metadata.Source.SizeBytes
            || frame.Position / Header.ChunkSize != (end - 1) / Header.ChunkSize)
        {
            throw new DiskFormatException(frame.Describe(), "position", frame.Position, frame.ImageOffset,
                $"must follow the previous frame's end ({_lastDiskEnd}), stay inside one {Header.ChunkSize}-byte chunk and inside the {Metadata.Source.SizeBytes}-byte disk");
        }
    }

    private void CheckIndex(ImageIndex index, in FrameHeader frame)
    {
        if (index.Entries.Count != _seen.Count)
        {
            throw new DiskFormatException(frame.Describe(), "entry count", index.Entries.Count, frame.ImageOffset,
                $"the image holds {_seen.Count} data frames");
        }
        for (int i = 0; i < _seen.Count; i++)
        {
            if (index.Entries[i] != _seen[i])
            {
                throw new DiskFormatException(frame.Describe(), $"entry {i}", index.Entries[i], frame.ImageOffset,
                    $"does not describe data frame {_seen[i].FrameNumber} at image offset {_seen[i].ImageOffset}");
            }
        }
    }

    /// <summary>The next frame's header, or null after reading and checking the footer.</summary>
    /// <param name="leaveSealedIn">Where an encrypted image's data frame is read and left sealed (its sealed header,
    /// then its sealed payload; <paramref name="sealedData"/> set); empty to open every frame here.</param>
    private FrameHeader? ReadFrameHeader(Span<byte> leaveSealedIn, out SealedData? sealedData)
    {
        sealedData = null;
        long offset = Position;
        int got = _input.ReadAtLeast(_headerBytes.AsSpan(0, 8), 8, throwOnEndOfStream: false);
        Position += got;
        if (got < 8)
        {
            throw new DiskFormatException("image", "end", Position, Position,
                $"the image ends at byte {Position}, after {_nextFrame} frames, with no footer: it is incomplete (capture interrupted or file truncated)");
        }
        if (ImageFooter.StartsWithMagic(_headerBytes))
        {
            ReadExactly(_headerBytes.AsSpan(8, ImageFooter.Length - 8), "the image footer");
            ReadFooter(offset);
            return null;
        }
        ReadExactly(_headerBytes.AsSpan(8, FrameHeader.Length - 8), $"the header of frame {_nextFrame}");
        FrameHeader frame = FrameHeader.Parse(_headerBytes.AsSpan(0, FrameHeader.Length), offset, Header.ChunkSize);
        if ((frame.Encoding == FrameEncoding.Sealed) != Header.IsEncrypted)
        {
            throw new DiskFormatException(frame.Describe(), "encoding", frame.Encoding, offset,
                Header.IsEncrypted ? "every frame of an encrypted image is sealed" : "a sealed frame in an image that is not encrypted");
        }
        if (_sealer is not null)
        {
            if (frame.FrameNumber != _nextFrame)
            {
                throw new DiskFormatException(frame.Describe(), "frame number", frame.FrameNumber, offset,
                    $"expected frame {_nextFrame}: a frame is missing or repeated");
            }
            if (frame.Type == FrameType.Data && !leaveSealedIn.IsEmpty)
            {
                sealedData = ReadSealed(frame, leaveSealedIn);
                _nextFrame++;
                return sealedData.Value.Inner;
            }
            // The whole sealed frame is read and opened here; its payload is then handed out by ReadPayload.
            if (_sealed.Length < frame.StoredLength)
            {
                _sealed = new byte[frame.StoredLength];
            }
            ReadExactly(_sealed.AsSpan(0, frame.StoredLength), frame.Describe());
            frame = _sealer.Open(frame, _sealed.AsSpan(0, frame.StoredLength), Header.ChunkSize);
            _openedPayloadLength = frame.StoredLength;
        }
        if (frame.FrameNumber != _nextFrame)
        {
            throw new DiskFormatException(frame.Describe(), "frame number", frame.FrameNumber, offset,
                $"expected frame {_nextFrame}: a frame is missing or repeated");
        }
        _nextFrame++;
        return frame;
    }

    /// <summary>Reads sealed data frame <paramref name="outer"/> into <paramref name="into"/> and its own header from
    /// the key stream. Should that header not parse or not match, the frame is authenticated first, so damage is named
    /// as the authentication tag, as when the frame is opened whole.</summary>
    private SealedData ReadSealed(in FrameHeader outer, Span<byte> into)
    {
        int ciphertextLength = outer.StoredLength - FrameSealer.TagLength;
        if (ciphertextLength < FrameHeader.Length || ciphertextLength > into.Length)
        {
            throw new DiskFormatException(outer.Describe(), "stored length", outer.StoredLength, outer.ImageOffset,
                $"a sealed data frame holds its {FrameHeader.Length}-byte header, at most {into.Length - FrameHeader.Length} payload bytes and its tag");
        }
        Span<byte> ciphertext = into[..ciphertextLength];
        Span<byte> tag = stackalloc byte[FrameSealer.TagLength];
        ReadExactly(ciphertext, outer.Describe());
        ReadExactly(tag, outer.Describe());
        var pending = new SealedData(outer, default, BinaryPrimitives.ReadUInt128LittleEndian(tag));
        try
        {
            return pending with { Inner = _sealer!.PeekHeader(outer, ciphertext, Header.ChunkSize) };
        }
        catch (DiskFormatException)
        {
            OpenToNameDamage(pending, into);
            throw;
        }
    }

    /// <summary>Called when a check of a frame left sealed failed: the frame is opened here (damage is rare), so that a
    /// changed byte, which is what made the check fail, is reported as the failed tag it is; else the caller rethrows.</summary>
    private void OpenToNameDamage(in SealedData pending, Span<byte> sealedFrame)
    {
        Span<byte> tag = stackalloc byte[FrameSealer.TagLength];
        BinaryPrimitives.WriteUInt128LittleEndian(tag, pending.Tag);
        _sealer!.Open(pending.Outer, sealedFrame[..(pending.Outer.StoredLength - FrameSealer.TagLength)], tag, Header.ChunkSize);
    }

    private void ReadFooter(long offset)
    {
        if (_indexOffset < 0)
        {
            throw new DiskFormatException("image footer", "position", offset, offset, "the footer comes before the log and index frames");
        }
        ImageFooter footer = ImageFooter.Parse(_headerBytes.AsSpan(0, ImageFooter.Length), offset, offset + ImageFooter.Length);
        // An encrypted image's footer leaves the counts and the index checksum out (they stay sealed); its index frame
        // is authenticated instead.
        bool counts = Header.IsEncrypted
            ? footer.DataFrameCount == 0 && footer.DataBytes == 0 && footer.IndexChecksum == 0
            : footer.DataFrameCount == _seen.Count && footer.DataBytes == _dataBytes && footer.IndexChecksum == _indexChecksum;
        if (footer.ImageId != Header.ImageId || footer.IndexOffset != _indexOffset || footer.LogOffset != _logOffset || !counts)
        {
            throw new DiskFormatException("image footer", "contents", $"id {footer.ImageId}, index {footer.IndexOffset}, {footer.DataFrameCount} frames",
                offset, $"does not describe this image (id {Header.ImageId}, index {_indexOffset}, {_seen.Count} frames of {_dataBytes} bytes)");
        }
        if (Metadata.DataBytes != _dataBytes)
        {
            throw new DiskFormatException("image metadata", "dataBytes", Metadata.DataBytes, ImageHeader.Length,
                $"the data frames hold {_dataBytes} bytes");
        }
        Span<byte> extra = stackalloc byte[1];
        if (_input.Read(extra) != 0)
        {
            throw new DiskFormatException("image footer", "end", offset + ImageFooter.Length, offset + ImageFooter.Length,
                "bytes follow the footer: the image is damaged or was appended to");
        }
        Footer = footer;
    }

    /// <summary>Reads <paramref name="frame"/>'s stored payload into <paramref name="stored"/>: from the stream, or,
    /// for an encrypted image, from the frame opened by <see cref="ReadFrameHeader"/>.</summary>
    private void ReadPayload(in FrameHeader frame, Span<byte> stored)
    {
        if (_sealer is null)
        {
            ReadExactly(stored[..frame.StoredLength], frame.Describe());
            return;
        }
        if (_openedPayloadLength != frame.StoredLength)
        {
            throw new InvalidOperationException($"the payload of {frame.Describe()} was read already");
        }
        _sealed.AsSpan(FrameHeader.Length, frame.StoredLength).CopyTo(stored);
        _openedPayloadLength = -1;
    }

    private byte[] ReadWhole(in FrameHeader frame)
    {
        var stored = new byte[frame.StoredLength];
        ReadPayload(frame, stored);
        var raw = new byte[frame.RawLength];
        _decoder.Decode(frame, stored, raw);
        return raw;
    }

    private void ReadExactly(Span<byte> destination, string what)
    {
        int got = _input.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        Position += got;
        if (got < destination.Length)
        {
            throw Truncated(what);
        }
    }

    private DiskFormatException Truncated(string what) =>
        new("image", "end", Position, Position, $"the image ends inside {what}: it is truncated");

    public void Dispose()
    {
        _decoder.Dispose();
        _sealer?.Dispose();
        _key?.Dispose();
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(_sealed);
    }
}
