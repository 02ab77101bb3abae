namespace LiveImager.Formats.ImageFormat;

/// <summary>What can be checked of an encrypted image without its passphrase: the header, the key header, every sealed
/// frame's outer header (checksum, number, type order, length) and the footer. The frames' contents are not checked.</summary>
public sealed record SealedStructure(ImageHeader Header, long Frames, long ImageBytes)
{
    /// <summary>Walks <paramref name="input"/> front to back; throws <see cref="DiskFormatException"/> at the first fault.</summary>
    public static SealedStructure Check(Stream input, CancellationToken cancellationToken = default)
    {
        var bytes = new byte[ImageKeyHeader.Length];
        long position = Read(input, bytes.AsSpan(0, ImageHeader.Length), 0, "the image header");
        ImageHeader header = ImageHeader.Parse(bytes.AsSpan(0, ImageHeader.Length));
        if (!header.IsEncrypted)
        {
            throw new ArgumentException("the image is not encrypted", nameof(input));
        }
        position = Read(input, bytes, position, "the image key header");
        ImageKeyHeader.Parse(bytes);
        var skip = new byte[1 << 20];
        uint next = 0;
        long logOffset = -1;
        long indexOffset = -1;
        FrameType previous = FrameType.Metadata;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long offset = position;
            position = Read(input, bytes.AsSpan(0, 8), position, $"frame {next}");
            if (ImageFooter.StartsWithMagic(bytes))
            {
                position = Read(input, bytes.AsSpan(8, ImageFooter.Length - 8), position, "the image footer");
                ImageFooter footer = ImageFooter.Parse(bytes.AsSpan(0, ImageFooter.Length), offset, offset + ImageFooter.Length);
                if (footer.ImageId != header.ImageId || footer.IndexOffset != indexOffset || footer.LogOffset != logOffset)
                {
                    throw new DiskFormatException("image footer", "contents", $"index {footer.IndexOffset}, log {footer.LogOffset}", offset,
                        $"does not describe this image (index frame at {indexOffset}, log frame at {logOffset})");
                }
                if (input.Read(bytes.AsSpan(0, 1)) != 0)
                {
                    throw new DiskFormatException("image footer", "end", position, position, "bytes follow the footer: the image is damaged or was appended to");
                }
                return new SealedStructure(header, next, position);
            }
            position = Read(input, bytes.AsSpan(8, FrameHeader.Length - 8), position, $"the header of frame {next}");
            FrameHeader frame = FrameHeader.Parse(bytes.AsSpan(0, FrameHeader.Length), offset, header.ChunkSize);
            if (frame.Encoding != FrameEncoding.Sealed || frame.FrameNumber != next)
            {
                throw new DiskFormatException(frame.Describe(), "frame number", frame.FrameNumber, offset,
                    $"expected sealed frame {next}: a frame is missing, repeated or not sealed");
            }
            if ((next == 0) != (frame.Type == FrameType.Metadata) || Rank(frame.Type) < Rank(previous)
                || (frame.Type is FrameType.ChunkHashes or FrameType.Log or FrameType.Index && frame.Type == previous))
            {
                throw new DiskFormatException(frame.Describe(), "type", frame.Type, offset,
                    "is out of order (expected metadata, used maps, data, capture record, chunk hashes, log, index, footer)");
            }
            previous = frame.Type;
            logOffset = frame.Type == FrameType.Log ? offset : logOffset;
            indexOffset = frame.Type == FrameType.Index ? offset : indexOffset;
            for (int left = frame.StoredLength; left > 0;)
            {
                int piece = Math.Min(left, skip.Length);
                position = Read(input, skip.AsSpan(0, piece), position, frame.Describe());
                left -= piece;
            }
            next++;
        }
    }

    private static int Rank(FrameType type) => type switch
    {
        FrameType.Metadata => 0,
        FrameType.UsedMap => 1,
        FrameType.Data => 2,
        FrameType.CaptureRecord => 3,
        FrameType.ChunkHashes => 4,
        FrameType.Log => 5,
        _ => 6,
    };

    private static long Read(Stream input, Span<byte> destination, long position, string what)
    {
        int got = input.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        if (got < destination.Length)
        {
            throw new DiskFormatException("image", "end", position + got, position + got, $"the image ends inside {what}: it is truncated");
        }
        return position + got;
    }
}
