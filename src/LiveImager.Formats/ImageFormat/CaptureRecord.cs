using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveImager.Formats.ImageFormat;

/// <summary>What a capture learned only at its end (image-format.md, capture record frame, type 6, version 3): the
/// disk ranges it could not read. Written after the data frames, before the log, by a rescue capture.</summary>
public sealed record CaptureRecord
{
    /// <summary>The most separate bad ranges a record holds (a bound on what a reader allocates).</summary>
    public const int MaxBadRanges = 65536;

    /// <summary>When the capture's last frame was read.</summary>
    public DateTimeOffset FinishedUtc { get; init; }

    /// <summary>True for a capture that went on past unreadable sectors (<c>--rescue</c>).</summary>
    public bool Rescue { get; init; }

    /// <summary>Unreadable disk ranges, sorted, apart; zeros in the image.</summary>
    public IReadOnlyList<BadRange> BadRanges { get; init; } = [];

    /// <summary>The files the unreadable ranges touch, where the capture could name them (ext2/3/4).</summary>
    public IReadOnlyList<AffectedFile> Files { get; init; } = [];

    /// <summary>A forensic capture's evidence record, or null.</summary>
    public ForensicRecord? Forensic { get; init; }

    [JsonIgnore]
    public long UnreadableBytes => BadRanges.Sum(r => r.Length);

    private static bool IsHex(string? text, int length) => text is not null && text.Length == length && text.All(char.IsAsciiHexDigitLower);

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CaptureRecordJsonContext.Default.CaptureRecord);

    /// <summary>Reads and validates the record; every range must lie on the <paramref name="diskBytes"/>-byte disk.</summary>
    public static CaptureRecord Parse(ReadOnlySpan<byte> json, long frameOffset, long diskBytes)
    {
        const string structure = "image capture record";
        CaptureRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(json, CaptureRecordJsonContext.Default.CaptureRecord);
        }
        catch (JsonException e)
        {
            throw new DiskFormatException(structure, "json", e.Path ?? "", frameOffset, $"is not valid: {e.Message}");
        }
        if (record is null)
        {
            throw new DiskFormatException(structure, "json", "null", frameOffset, "is empty");
        }
        if (record.BadRanges.Count > MaxBadRanges)
        {
            throw new DiskFormatException(structure, "badRanges", record.BadRanges.Count, frameOffset, $"more than {MaxBadRanges} ranges");
        }
        long end = 0;
        for (int i = 0; i < record.BadRanges.Count; i++)
        {
            BadRange range = record.BadRanges[i];
            if (range.Position < end || range.Length <= 0 || range.Length > diskBytes - range.Position)
            {
                throw new DiskFormatException(structure, $"badRanges[{i}]", $"{range.Position}+{range.Length}", frameOffset,
                    $"must follow the previous range and lie on the {diskBytes}-byte disk");
            }
            end = range.Position + range.Length;
        }
        if (record.Forensic is { } forensic && (!IsHex(forensic.Sha256, 64) || !IsHex(forensic.Md5, 32)))
        {
            throw new DiskFormatException(structure, "forensic", forensic.Sha256, frameOffset, "needs a SHA-256 of 64 and an MD5 of 32 hex digits");
        }
        if (record.Files.Count > MaxBadRanges)
        {
            throw new DiskFormatException(structure, "files", record.Files.Count, frameOffset, $"more than {MaxBadRanges} files");
        }
        for (int i = 0; i < record.Files.Count; i++)
        {
            AffectedFile file = record.Files[i];
            if (file.Path is null || file.Position < 0 || file.Position >= diskBytes)
            {
                throw new DiskFormatException(structure, $"files[{i}]", file.Path ?? "null", frameOffset, "needs a path and a position on the disk");
            }
        }
        return record;
    }
}

/// <summary>What a forensic capture (<c>capture --forensic</c>) records: every byte of the source read once, its
/// hashes as read (unreadable ranges as zeros), the case details the examiner gave, and whether the kernel kept the
/// source read-only throughout.</summary>
public sealed record ForensicRecord
{
    /// <summary>SHA-256 of the whole source as read, lowercase hex.</summary>
    public required string Sha256 { get; init; }

    /// <summary>MD5 of the whole source as read, lowercase hex (many examiners' tools still expect it).</summary>
    public required string Md5 { get; init; }

    public string? Case { get; init; }
    public string? Examiner { get; init; }
    public string? Notes { get; init; }
    public DateTimeOffset StartedUtc { get; init; }

    /// <summary>True when the kernel's read-only flag (BLKROSET) was set on the source for the whole capture.</summary>
    public bool KernelReadOnly { get; init; }

    /// <summary>Whether the source was read-only in the kernel before the capture (and is again after it).</summary>
    public bool WasReadOnly { get; init; }
}

/// <summary>A file in a partition that an unreadable range touches; <see cref="Position"/> is the disk byte of its first
/// unreadable block.</summary>
public sealed record AffectedFile(int Partition, string Path, long Position);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CaptureRecord))]
public sealed partial class CaptureRecordJsonContext : JsonSerializerContext;
