using System.Buffers.Binary;

namespace LiveImager.Formats.ImageFormat;

/// <summary>The 48-byte header in front of every frame's payload: what it is, where it goes, how it is stored.</summary>
/// <param name="ImageOffset">Where the header lies in the logical image; not stored, known to whoever read or wrote it.</param>
public readonly record struct FrameHeader(FrameType Type, FrameEncoding Encoding, uint FrameNumber, uint Tag,
    long Position, int RawLength, int StoredLength, ulong RawChecksum, long ImageOffset = 0)
{
    public const int Length = 0x30;
    public const byte CurrentVersion = 1;

    /// <summary>ASCII "LIMF".</summary>
    public static ReadOnlySpan<byte> Magic => "LIMF"u8;

    /// <summary>Largest metadata or log frame: far beyond any real one, small enough to hold in memory.</summary>
    public const int MaxTextLength = 16 * 1024 * 1024;

    /// <summary>Largest index frame: 8 Mi entries of 32 bytes.</summary>
    public const int MaxIndexLength = 256 * 1024 * 1024;

    /// <summary>Largest chunk-hash frame: one 16-byte hash for each of the index's 8 Mi entries.</summary>
    public const int MaxChunkHashesLength = MaxIndexLength / ImageIndex.EntryLength * ChunkHashes.HashLength;

    private const int MagicOffset = 0x00;          // image-format.md Frame 0x00 magic
    private const int VersionOffset = 0x04;        // 0x04 version
    private const int TypeOffset = 0x05;           // 0x05 type
    private const int EncodingOffset = 0x06;       // 0x06 encoding
    private const int ReservedOffset = 0x07;       // 0x07 reserved
    private const int FrameNumberOffset = 0x08;    // 0x08 frame number
    private const int TagOffset = 0x0C;            // 0x0C tag
    private const int PositionOffset = 0x10;       // 0x10 position
    private const int RawLengthOffset = 0x18;      // 0x18 raw length
    private const int StoredLengthOffset = 0x1C;   // 0x1C stored length
    private const int RawChecksumOffset = 0x20;    // 0x20 raw checksum
    private const int ChecksumOffset = 0x28;       // 0x28 header checksum

    /// <summary>How the frame is named in messages: its number, type and place in the image and on the disk.</summary>
    public string Describe() => Encoding == FrameEncoding.Sealed
        ? $"image frame {FrameNumber} ({Type.ToString().ToLowerInvariant()}, sealed, image offset {ImageOffset})"
        : Type == FrameType.Data
        ? $"image frame {FrameNumber} ({(Encoding == FrameEncoding.Reference ? "data in the base image" : "data")}, disk bytes {Position}..{Position + RawLength}, image offset {ImageOffset})"
        : $"image frame {FrameNumber} ({Type.ToString().ToLowerInvariant()}, image offset {ImageOffset})";

    /// <summary>Reads and validates the header at <paramref name="imageOffset"/>; <paramref name="chunkSize"/> bounds data lengths.</summary>
    public static FrameHeader Parse(ReadOnlySpan<byte> bytes, long imageOffset, int chunkSize)
    {
        string structure = $"image frame header at image offset {imageOffset}";
        if (!bytes[..4].SequenceEqual(Magic))
        {
            throw new DiskFormatException(structure, "magic", Convert.ToHexString(bytes[..4]), imageOffset + MagicOffset,
                "expected \"LIMF\": the image is damaged or a frame is missing here");
        }
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[ChecksumOffset..]);
        ulong computed = ImageChecksum.Of(bytes[..ChecksumOffset]);
        if (stored != computed)
        {
            throw new DiskFormatException(structure, "header checksum", $"0x{stored:x16}", imageOffset + ChecksumOffset,
                $"does not match the frame header (computed 0x{computed:x16}): the frame header is damaged");
        }
        byte version = bytes[VersionOffset];
        if (version == 0 || version > CurrentVersion)
        {
            throw new DiskFormatException(structure, "version", version, imageOffset + VersionOffset,
                $"this LiveImager reads frame versions 1..{CurrentVersion}");
        }
        if (bytes[ReservedOffset] != 0)
        {
            throw new DiskFormatException(structure, "reserved", bytes[ReservedOffset], imageOffset + ReservedOffset, "must be 0");
        }
        var header = new FrameHeader(
            (FrameType)bytes[TypeOffset],
            (FrameEncoding)bytes[EncodingOffset],
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[FrameNumberOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[TagOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[PositionOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[RawLengthOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[StoredLengthOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[RawChecksumOffset..]),
            imageOffset);
        header.Validate(structure, chunkSize);
        return header;
    }

    private void Validate(string structure, int chunkSize)
    {
        int maxRaw = Type switch
        {
            FrameType.Metadata or FrameType.Log or FrameType.CaptureRecord => MaxTextLength,
            FrameType.UsedMap or FrameType.Data => chunkSize,
            FrameType.Index => MaxIndexLength,
            FrameType.ChunkHashes => MaxChunkHashesLength,
            _ => throw new DiskFormatException(structure, "type", (byte)Type, ImageOffset + TypeOffset, "is not a frame type this LiveImager knows"),
        };
        if (Encoding == FrameEncoding.Sealed)
        {
            // An encrypted image's outer header: everything but the type, number and sealed length is inside.
            if (RawLength != 0 || Position != 0 || Tag != 0 || RawChecksum != 0
                || StoredLength < FrameSealer.Overhead - FrameHeader.Length || StoredLength > maxRaw + FrameSealer.Overhead - FrameHeader.Length)
            {
                throw new DiskFormatException(structure, "stored length", StoredLength, ImageOffset + StoredLengthOffset,
                    $"a sealed {Type.ToString().ToLowerInvariant()} frame holds {FrameSealer.Overhead - FrameHeader.Length}..{maxRaw + FrameSealer.Overhead - FrameHeader.Length} bytes and nothing in its other fields");
            }
            return;
        }
        if (RawLength < 0 || RawLength > maxRaw || (Type == FrameType.Data && RawLength == 0))
        {
            throw new DiskFormatException(structure, "raw length", RawLength, ImageOffset + RawLengthOffset,
                $"must be {(Type == FrameType.Data ? 1 : 0)}..{maxRaw} for a {Type.ToString().ToLowerInvariant()} frame");
        }
        bool storedOk = Encoding switch
        {
            FrameEncoding.Raw => StoredLength == RawLength,
            FrameEncoding.Zstd => StoredLength > 0 && StoredLength <= RawLength,
            FrameEncoding.ZeroRun => StoredLength == 0,
            FrameEncoding.Sealed => true,
            FrameEncoding.Reference => Type == FrameType.Data && StoredLength == 0,
            _ => throw new DiskFormatException(structure, "encoding", (byte)Encoding, ImageOffset + EncodingOffset, "is not an encoding this LiveImager knows"),
        };
        if (!storedOk)
        {
            throw new DiskFormatException(structure, "stored length", StoredLength, ImageOffset + StoredLengthOffset,
                $"does not fit a {Encoding.ToString().ToLowerInvariant()} frame of {RawLength} raw bytes");
        }
        if (Position < 0 || (Type != FrameType.Data && Type != FrameType.UsedMap && Position != 0))
        {
            throw new DiskFormatException(structure, "position", Position, ImageOffset + PositionOffset,
                "must be 0 for this frame type and never negative");
        }
    }

    /// <summary>Writes the header, checksum included, into the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        Span<byte> bytes = destination[..Length];
        Magic.CopyTo(bytes);
        bytes[VersionOffset] = CurrentVersion;
        bytes[TypeOffset] = (byte)Type;
        bytes[EncodingOffset] = (byte)Encoding;
        bytes[ReservedOffset] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[FrameNumberOffset..], FrameNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[TagOffset..], Tag);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[PositionOffset..], Position);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[RawLengthOffset..], RawLength);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[StoredLengthOffset..], StoredLength);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[RawChecksumOffset..], RawChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[ChecksumOffset..], ImageChecksum.Of(bytes[..ChecksumOffset]));
    }
}

/// <summary>What a frame carries (image-format.md Frame 0x05).</summary>
public enum FrameType : byte
{
    Metadata = 1,
    UsedMap = 2,
    Data = 3,
    Log = 4,
    Index = 5,

    /// <summary>Version 3: what the capture learned at its end (the bad-range map), after the data frames.</summary>
    CaptureRecord = 6,

    /// <summary>Version 5: the XXH3-128 of every data frame's raw bytes, in frame order, after the data frames.</summary>
    ChunkHashes = 7,
}

/// <summary>How a frame's payload is stored (image-format.md Frame 0x06).</summary>
public enum FrameEncoding : byte
{
    Raw = 0,
    Zstd = 1,
    ZeroRun = 2,

    /// <summary>Version 4: an encrypted image's frame; the payload is the sealed header and payload (<see cref="FrameSealer"/>).</summary>
    Sealed = 3,

    /// <summary>Version 5, data frames of an incremental image only: no payload; the raw bytes are those of the base
    /// image's frame at the same disk position and length (image-format.md "Incremental images").</summary>
    Reference = 4,
}
