namespace LiveImager.Formats.ImageFormat;

/// <summary>Random access to a complete image through its footer and index (a file, not a pipe).</summary>
public sealed class ImageFile : IDisposable
{
    private readonly Stream _image;
    private readonly FrameDecoder _decoder = new();
    private readonly FrameSealer? _sealer;
    private long _openedOffset = -1;
    private byte[]? _openedBody;

    /// <summary>Validates the header, the footer at the end of <paramref name="image"/>, the metadata and the index.</summary>
    /// <param name="passphrase">The passphrase of an encrypted image (<see cref="ImagePassphraseException"/> without it
    /// or when it is wrong, before any frame is read).</param>
    public ImageFile(Stream image, ImagePassphrase? passphrase = null)
    {
        if (!image.CanSeek)
        {
            throw new ArgumentException("random access needs a seekable image", nameof(image));
        }
        _image = image;
        var headerBytes = new byte[ImageHeader.Length];
        ReadAt(0, headerBytes, "the image header");
        Header = ImageHeader.Parse(headerBytes);
        if (Header.IsEncrypted)
        {
            var keyBytes = new byte[ImageKeyHeader.Length];
            ReadAt(ImageHeader.Length, keyBytes, "the image key header");
            ImageKeyHeader keyHeader = ImageKeyHeader.Parse(keyBytes);
            if (passphrase is null)
            {
                throw new ImagePassphraseException("the image is encrypted: give its passphrase (--passphrase-file FILE, $LIVEIMAGER_PASSPHRASE, or type it when asked)");
            }
            using ImageKey key = ImageKey.Unlock(passphrase, Header, keyHeader);
            _sealer = key.CreateSealer(Header.ImageId);
        }
        long footerOffset = image.Length - ImageFooter.Length;
        if (footerOffset < Header.FirstFrameOffset)
        {
            throw new DiskFormatException("image", "length", image.Length, 0, "too short to hold a header and a footer: the image is incomplete");
        }
        var footerBytes = new byte[ImageFooter.Length];
        ReadAt(footerOffset, footerBytes, "the image footer");
        Footer = ImageFooter.Parse(footerBytes, footerOffset, image.Length);
        if (Footer.ImageId != Header.ImageId)
        {
            throw new DiskFormatException("image footer", "image id", Footer.ImageId, footerOffset + 0x10,
                $"belongs to another image (the header says {Header.ImageId})");
        }
        (FrameHeader metadataFrame, byte[] metadata) = ReadWhole(Header.FirstFrameOffset, FrameType.Metadata);
        Metadata = ImageMetadata.Parse(metadata, metadataFrame.ImageOffset);
        Metadata.CheckAgainst(Header, metadataFrame.ImageOffset);
        if (!Header.IsEncrypted && Metadata.DataBytes != Footer.DataBytes)
        {
            throw new DiskFormatException("image metadata", "dataBytes", Metadata.DataBytes, metadataFrame.ImageOffset,
                $"the footer counts {Footer.DataBytes} bytes of data frames");
        }
        long usedMapsEnd = CheckUsedMaps(EndOf(metadataFrame));
        (FrameHeader indexFrame, byte[] index) = ReadWhole(Footer.IndexOffset, FrameType.Index);
        if (!Header.IsEncrypted && indexFrame.RawChecksum != Footer.IndexChecksum)
        {
            throw new DiskFormatException("image footer", "index checksum", $"0x{Footer.IndexChecksum:x16}", footerOffset + 0x40,
                $"does not match the index frame's (0x{indexFrame.RawChecksum:x16})");
        }
        Index = ImageIndex.Parse(index, indexFrame.ImageOffset, Header.ChunkSize);
        if (Header.IsEncrypted)
        {
            // The footer leaves the counts out; the authenticated index must hold what the metadata says.
            long indexed = Index.Entries.Sum(e => (long)e.RawLength);
            if (Footer.DataFrameCount != 0 || Footer.DataBytes != 0 || Footer.IndexChecksum != 0 || indexed != Metadata.DataBytes)
            {
                throw new DiskFormatException("image index", "data bytes", indexed, indexFrame.ImageOffset,
                    $"the metadata counts {Metadata.DataBytes} bytes of data frames, and an encrypted image's footer holds no counts");
            }
        }
        else if (Index.Entries.Count != Footer.DataFrameCount)
        {
            throw new DiskFormatException("image index", "entry count", Index.Entries.Count, indexFrame.ImageOffset,
                $"the footer counts {Footer.DataFrameCount} data frames");
        }
        if (Header.Version >= ImageHeader.CaptureRecordVersion)
        {
            ReadAfterData(usedMapsEnd);
        }
    }

    /// <summary>The capture record (a rescue capture's bad-range map), or null when the image has none.</summary>
    public CaptureRecord? Record { get; private set; }

    /// <summary>The chunk hashes (version 5: one XXH3-128 per data frame); null for an older image.</summary>
    public ChunkHashes? Hashes { get; private set; }

    /// <summary>Where the first frame after the data frames starts (capture record or chunk hashes), and its name.</summary>
    private (long Offset, string Name)? _afterData;

    public ImageHeader Header { get; }
    public ImageFooter Footer { get; }
    public ImageMetadata Metadata { get; }
    public ImageIndex Index { get; }

    /// <summary>The capture log.</summary>
    public string ReadLog() => System.Text.Encoding.UTF8.GetString(ReadWhole(Footer.LogOffset, FrameType.Log).Raw);

    /// <summary>Reads, decodes and checks the data frame <paramref name="entry"/> into <paramref name="raw"/> (at least chunk size).</summary>
    public void ReadData(in IndexEntry entry, Span<byte> raw)
    {
        FrameHeader frame = ReadDataHeader(entry);
        var stored = new byte[frame.StoredLength];
        ReadPayload(frame, stored);
        _decoder.Decode(frame, stored, raw);
    }

    /// <summary>Reads the header of the data frame <paramref name="entry"/> and checks it against the entry.</summary>
    /// <remarks>With <see cref="ReadPayload"/>, lets a caller read frames under one lock and decode them on its own
    /// threads, each with its own <see cref="FrameDecoder"/>.
    /// For an encrypted image the whole frame is read and opened here, and <see cref="ReadPayload"/> hands out its payload.</remarks>
    public FrameHeader ReadDataHeader(in IndexEntry entry)
    {
        FrameHeader frame = OpenAt(entry.ImageOffset, $"the header of frame {entry.FrameNumber}", out _openedBody);
        _openedOffset = _openedBody is null ? -1 : entry.ImageOffset;
        if (frame.Type != FrameType.Data || frame.Position != entry.DiskPosition || frame.RawLength != entry.RawLength
            || frame.FrameNumber != entry.FrameNumber || frame.RawChecksum != entry.RawChecksum)
        {
            throw new DiskFormatException(frame.Describe(), "header", frame.Position, entry.ImageOffset,
                $"does not match its index entry (disk {entry.DiskPosition}+{entry.RawLength}, frame {entry.FrameNumber})");
        }
        return frame;
    }

    /// <summary>Reads the header of every data frame the index names and checks it against its entry and its place:
    /// each frame's payload ends before the next frame starts, and the last before the capture log. A restore runs this
    /// before it opens a target, so an image whose frames cannot all be read refuses before the first write.</summary>
    /// <remarks>One header (64 bytes) per frame: a few thousand reads for a disk of tens of GB; the payloads are
    /// checked by <see cref="CheckDataFrames"/>.</remarks>
    public void CheckDataFrameHeaders(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<IndexEntry> entries = Index.Entries;
        for (int i = 0; i < entries.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // An encrypted image's frames are checked by their outer headers here (no decryption: that needs the
            // whole frame); their sealed headers are checked against the index as each frame is opened.
            FrameHeader frame = _sealer is null ? ReadDataHeader(entries[i]) : ReadOuterData(entries[i]);
            long end = frame.ImageOffset + FrameHeader.Length + frame.StoredLength;
            long limit = i + 1 < entries.Count ? entries[i + 1].ImageOffset : _afterData?.Offset ?? Footer.LogOffset;
            if (end > limit)
            {
                throw new DiskFormatException(frame.Describe(), "stored length", frame.StoredLength, frame.ImageOffset,
                    i + 1 < entries.Count ? $"runs into frame {entries[i + 1].FrameNumber} at image offset {limit}"
                        : $"runs into the {_afterData?.Name ?? "capture log"} at image offset {limit}");
            }
        }
    }

    /// <summary>Reads, decodes and checks every data frame (restore --verify-first); <paramref name="progress"/> gets
    /// each frame's raw length.</summary>
    public void CheckDataFrames(Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var raw = new byte[Header.ChunkSize];
        foreach (IndexEntry entry in Index.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ReadData(entry, raw);
            progress?.Invoke(entry.RawLength);
        }
    }

    /// <summary>Reads the stored payload of <paramref name="frame"/> into the first <see cref="FrameHeader.StoredLength"/>
    /// bytes of <paramref name="stored"/>.</summary>
    public void ReadPayload(in FrameHeader frame, Span<byte> stored)
    {
        if (_sealer is not null && _openedOffset != frame.ImageOffset)
        {
            throw new InvalidOperationException($"{frame.Describe()} was not opened by ReadDataHeader just before");
        }
        PayloadOf(frame, _openedBody, stored);
    }

    private FrameHeader ReadOuterData(in IndexEntry entry)
    {
        FrameHeader outer = ReadHeaderAt(entry.ImageOffset, $"the header of frame {entry.FrameNumber}");
        if (outer.Type != FrameType.Data || outer.FrameNumber != entry.FrameNumber)
        {
            throw new DiskFormatException(outer.Describe(), "header", outer.FrameNumber, entry.ImageOffset,
                $"does not match its index entry (data frame {entry.FrameNumber})");
        }
        return outer;
    }

    /// <summary>Where <paramref name="frame"/> (as read or opened) ends in the image.</summary>
    private long EndOf(in FrameHeader frame) =>
        frame.ImageOffset + (_sealer is null ? FrameHeader.Length : FrameSealer.Overhead) + frame.StoredLength;

    /// <summary>The header at <paramref name="offset"/> as stored: a plain frame's, or an encrypted image's outer one.</summary>
    private FrameHeader ReadHeaderAt(long offset, string what)
    {
        var headerBytes = new byte[FrameHeader.Length];
        ReadAt(offset, headerBytes, what);
        FrameHeader frame = FrameHeader.Parse(headerBytes, offset, Header.ChunkSize);
        if ((frame.Encoding == FrameEncoding.Sealed) != Header.IsEncrypted)
        {
            throw new DiskFormatException(frame.Describe(), "encoding", frame.Encoding, offset,
                Header.IsEncrypted ? "every frame of an encrypted image is sealed" : "a sealed frame in an image that is not encrypted");
        }
        return frame;
    }

    /// <summary>The frame's own header; for an encrypted image the whole frame is read and opened into <paramref name="body"/>.</summary>
    private FrameHeader OpenAt(long offset, string what, out byte[]? body)
    {
        FrameHeader frame = ReadHeaderAt(offset, what);
        if (_sealer is null)
        {
            body = null;
            return frame;
        }
        body = new byte[frame.StoredLength];
        ReadAt(offset + FrameHeader.Length, body, frame.Describe());
        return _sealer.Open(frame, body, Header.ChunkSize);
    }

    private void PayloadOf(in FrameHeader frame, byte[]? body, Span<byte> stored)
    {
        if (body is null)
        {
            ReadAt(frame.ImageOffset + FrameHeader.Length, stored[..frame.StoredLength], frame.Describe());
        }
        else
        {
            body.AsSpan(FrameHeader.Length, frame.StoredLength).CopyTo(stored);
        }
    }

    /// <summary>Reads the frames between the data and the log: the capture record (version 3, optional) and the chunk
    /// hashes (version 5, required), found where the last data frame ends (after the used maps when there is none).</summary>
    private void ReadAfterData(long usedMapsEnd)
    {
        long offset = usedMapsEnd;
        if (Index.Entries.Count > 0)
        {
            FrameHeader last = ReadHeaderAt(Index.Entries[^1].ImageOffset, "the last data frame");
            offset = last.ImageOffset + FrameHeader.Length + last.StoredLength;
        }
        while (offset + FrameHeader.Length <= Footer.LogOffset)
        {
            FrameType type = ReadHeaderAt(offset, "the frame after the data").Type;
            if (type == FrameType.CaptureRecord && Record is null && Hashes is null)
            {
                (FrameHeader frame, byte[] raw) = ReadWhole(offset, FrameType.CaptureRecord);
                Record = CaptureRecord.Parse(raw, frame.ImageOffset, Metadata.Source.SizeBytes);
                _afterData ??= (offset, "capture record");
                offset = EndOf(frame);
            }
            else if (type == FrameType.ChunkHashes && Hashes is null && Header.HasChunkHashes)
            {
                (FrameHeader frame, byte[] raw) = ReadWhole(offset, FrameType.ChunkHashes);
                Hashes = ChunkHashes.Parse(raw, Index.Entries.Count, frame.ImageOffset);
                _afterData ??= (offset, "chunk hashes");
                offset = EndOf(frame);
            }
            else
            {
                break;
            }
        }
        if (Header.HasChunkHashes && (Hashes is null || offset != Footer.LogOffset))
        {
            throw new DiskFormatException("image", "chunk hashes", offset, offset,
                $"a version {Header.Version} image holds its chunk hashes right before the capture log at image offset {Footer.LogOffset}; they are not there");
        }
    }

    /// <summary>Reads every used-map frame again, checked, and hands each piece (partition number, byte offset in its
    /// bitmap, bytes) to <paramref name="piece"/>, in image order.</summary>
    public void ReadUsedMaps(Action<int, long, ReadOnlySpan<byte>> piece) => CheckUsedMaps(_usedMapsStart, piece);

    private long _usedMapsStart;

    /// <summary>Reads the used-map frames from <paramref name="offset"/> and checks them against the metadata, as the
    /// streaming reader does: one chunk-sized buffer, a frame at a time; returns where they end.</summary>
    private long CheckUsedMaps(long offset, Action<int, long, ReadOnlySpan<byte>>? piece = null)
    {
        _usedMapsStart = offset;
        var tally = new UsedMapTally(Metadata);
        var headerBytes = new byte[FrameHeader.Length];
        var raw = new byte[Header.ChunkSize];
        while (true)
        {
            ReadAt(offset, headerBytes, "the frame after the metadata");
            if (ImageFooter.StartsWithMagic(headerBytes) || ReadHeaderAt(offset, "the frame after the metadata").Type != FrameType.UsedMap)
            {
                break;
            }
            FrameHeader frame = OpenAt(offset, "a used-map frame", out byte[]? body);
            tally.Precheck(frame);
            var stored = new byte[frame.StoredLength];
            PayloadOf(frame, body, stored);
            _decoder.Decode(frame, stored, raw);
            tally.Add(frame, raw.AsSpan(0, frame.RawLength));
            piece?.Invoke((int)frame.Tag, frame.Position, raw.AsSpan(0, frame.RawLength));
            offset = EndOf(frame);
        }
        tally.Complete(offset);
        return offset;
    }

    private (FrameHeader Frame, byte[] Raw) ReadWhole(long offset, FrameType type)
    {
        FrameHeader outer = ReadHeaderAt(offset, $"the {type.ToString().ToLowerInvariant()} frame header");
        if (outer.Type != type)
        {
            throw new DiskFormatException(outer.Describe(), "type", outer.Type, offset, $"expected the {type.ToString().ToLowerInvariant()} frame here");
        }
        FrameHeader frame = OpenAt(offset, $"the {type.ToString().ToLowerInvariant()} frame header", out byte[]? body);
        var stored = new byte[frame.StoredLength];
        PayloadOf(frame, body, stored);
        var raw = new byte[frame.RawLength];
        _decoder.Decode(frame, stored, raw);
        return (frame, raw);
    }

    private void ReadAt(long offset, Span<byte> destination, string what)
    {
        _image.Position = offset;
        if (_image.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false) < destination.Length)
        {
            throw new DiskFormatException("image", "end", _image.Length, offset, $"the image ends inside {what}: it is truncated");
        }
    }

    public void Dispose()
    {
        _decoder.Dispose();
        _sealer?.Dispose();
        _image.Dispose();
    }
}
