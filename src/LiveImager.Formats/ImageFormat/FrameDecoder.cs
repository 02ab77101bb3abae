using ZstdSharp;

namespace LiveImager.Formats.ImageFormat;

/// <summary>Turns frame payloads back into raw bytes and checks them against the frame's checksum.</summary>
/// <remarks>One per worker: it owns a zstd context, which is not thread-safe.</remarks>
public sealed class FrameDecoder : IDisposable
{
    private readonly Decompressor _decompressor = new();

    /// <summary>Decodes <paramref name="stored"/> into the first <see cref="FrameHeader.RawLength"/> bytes of
    /// <paramref name="raw"/>; throws <see cref="DiskFormatException"/> naming the frame when the bytes are damaged.</summary>
    public void Decode(in FrameHeader header, ReadOnlySpan<byte> stored, Span<byte> raw)
    {
        Span<byte> destination = raw[..header.RawLength];
        switch (header.Encoding)
        {
            case FrameEncoding.ZeroRun:
                destination.Clear();
                break;
            case FrameEncoding.Raw:
                stored[..header.RawLength].CopyTo(destination);
                break;
            case FrameEncoding.Reference:
                throw new DiskFormatException(header.Describe(), "encoding", header.Encoding, header.ImageOffset,
                    "holds no bytes of its own: they are in the base image, which this reader was not given");
            default:
                int written;
                try
                {
                    written = _decompressor.Unwrap(stored[..header.StoredLength], destination);
                }
                catch (ZstdException e)
                {
                    throw new DiskFormatException(header.Describe(), "zstd payload", $"{header.StoredLength} bytes",
                        header.ImageOffset + FrameHeader.Length, $"cannot be decompressed ({e.Message}): the frame is damaged");
                }
                if (written != header.RawLength)
                {
                    throw new DiskFormatException(header.Describe(), "raw length", header.RawLength, header.ImageOffset,
                        $"the payload decompresses to {written} bytes: the frame is damaged");
                }
                break;
        }
        CheckRaw(header, destination);
    }

    private static void CheckRaw(in FrameHeader header, ReadOnlySpan<byte> raw)
    {
        ulong computed = ImageChecksum.Of(raw);
        if (computed != header.RawChecksum)
        {
            throw new DiskFormatException(header.Describe(), "raw checksum", $"0x{header.RawChecksum:x16}", header.ImageOffset,
                $"does not match the frame's data (computed 0x{computed:x16}): the frame is damaged");
        }
    }

    /// <summary>Checks a raw frame where its payload lies, without copying it: true when <paramref name="header"/> is a
    /// raw frame and <paramref name="stored"/> holds its checked bytes; false for any other encoding, which
    /// <see cref="Decode"/> must decode.</summary>
    public static bool TryCheckRawInPlace(in FrameHeader header, ReadOnlySpan<byte> stored)
    {
        if (header.Encoding != FrameEncoding.Raw)
        {
            return false;
        }
        CheckRaw(header, stored[..header.RawLength]);
        return true;
    }

    public void Dispose() => _decompressor.Dispose();
}
