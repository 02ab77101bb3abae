using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveImager.Formats.ImageFormat;

/// <summary>What the metadata frame says about the source disk, its table, partitions and copied regions.</summary>
public sealed record ImageMetadata
{
    /// <summary>Most partitions an image may describe: GPT's usual 128 entries many times over.</summary>
    public const int MaxPartitions = 1024;

    /// <summary>Most regions outside partitions: two per partition, and some.</summary>
    public const int MaxRegions = 4 * MaxPartitions;

    public required string Tool { get; init; }
    public required DateTimeOffset CreatedUtc { get; init; }
    public required SourceDisk Source { get; init; }
    public required TableInfo Table { get; init; }
    public required IReadOnlyList<PartitionInfo> Partitions { get; init; }
    public required IReadOnlyList<RegionInfo> Regions { get; init; }

    /// <summary>Raw bytes the data frames hold, for progress and ETA on restore.</summary>
    public required long DataBytes { get; init; }

    /// <summary>How the data frames were compressed; null in images written before it was recorded.</summary>
    public CompressionInfo? Compression { get; init; }

    /// <summary>The end of the last byte that must exist on a target: the last partition's or region's end.</summary>
    [JsonIgnore]
    public long RequiredTargetBytes =>
        Math.Max(Partitions.Select(p => p.StartBytes + p.SizeBytes).DefaultIfEmpty(0).Max(),
            Regions.Where(r => r.Kind != RegionKinds.GptBackup).Select(r => r.StartBytes + r.SizeBytes).DefaultIfEmpty(0).Max());

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, ImageMetadataJsonContext.Default.ImageMetadata);

    /// <summary>Reads and validates the metadata frame's JSON; <paramref name="frameOffset"/> is its image offset, for messages.</summary>
    public static ImageMetadata Parse(ReadOnlySpan<byte> json, long frameOffset)
    {
        ImageMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(json, ImageMetadataJsonContext.Default.ImageMetadata);
        }
        catch (JsonException e)
        {
            throw new DiskFormatException("image metadata", "JSON", e.Path, frameOffset, $"cannot be read: {e.Message}");
        }
        if (metadata is null)
        {
            throw new DiskFormatException("image metadata", "JSON", "null", frameOffset, "is empty");
        }
        metadata.Validate(frameOffset);
        return metadata;
    }

    private void Validate(long frameOffset)
    {
        const string structure = "image metadata";
        if (Source.SizeBytes <= 0 || Source.LogicalSectorSize < 512 || Source.LogicalSectorSize > 65536)
        {
            throw new DiskFormatException(structure, "source", $"{Source.SizeBytes} bytes, sector {Source.LogicalSectorSize}", frameOffset,
                "the source disk's size and sector size must be positive and sane");
        }
        if (Partitions.Count > MaxPartitions || Regions.Count > MaxRegions)
        {
            throw new DiskFormatException(structure, "partitions/regions", $"{Partitions.Count}/{Regions.Count}", frameOffset,
                $"at most {MaxPartitions} partitions and {MaxRegions} regions");
        }
        foreach (PartitionInfo p in Partitions)
        {
            if (p.StartBytes < 0 || p.SizeBytes < 0 || p.StartBytes + p.SizeBytes > Source.SizeBytes || p.BlockSize < 0
                || p.UsedBlocks < 0 || p.UsedBlocks > p.BlockCount)
            {
                throw new DiskFormatException(structure, $"partition {p.Number}", $"{p.StartBytes}+{p.SizeBytes}", frameOffset,
                    $"lies outside the {Source.SizeBytes}-byte source disk or has impossible block counts");
            }
        }
        foreach (RegionInfo r in Regions)
        {
            if (r.StartBytes < 0 || r.SizeBytes < 0 || r.StartBytes + r.SizeBytes > Source.SizeBytes)
            {
                throw new DiskFormatException(structure, $"region {r.Kind}", $"{r.StartBytes}+{r.SizeBytes}", frameOffset,
                    $"lies outside the {Source.SizeBytes}-byte source disk");
            }
        }
        if (Compression is { } c && (c.LowestLevel is < 1 or > 22 || c.HighestLevel < c.LowestLevel || c.HighestLevel > 22))
        {
            throw new DiskFormatException(structure, "compression", $"levels {c.LowestLevel}..{c.HighestLevel}", frameOffset,
                "zstd levels are 1..22, the lowest first");
        }
        if (DataBytes < 0 || DataBytes > Source.SizeBytes)
        {
            throw new DiskFormatException(structure, "dataBytes", DataBytes, frameOffset, $"must be 0..{Source.SizeBytes}");
        }
    }
}

/// <summary>The disk an image was captured from.</summary>
public sealed record SourceDisk
{
    public required string Path { get; init; }
    public string? Model { get; init; }
    public string? Serial { get; init; }
    public required long SizeBytes { get; init; }
    public required int LogicalSectorSize { get; init; }
    public required int PhysicalSectorSize { get; init; }
}

/// <summary>The source's partition table as read.</summary>
public sealed record TableInfo
{
    /// <summary>"none", "mbr" or "gpt".</summary>
    public required string Kind { get; init; }
    public required int SectorSize { get; init; }
    public required long DiskBytes { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>One partition: where it is, what it holds, and how its used blocks were found.</summary>
public sealed record PartitionInfo
{
    public required int Number { get; init; }
    public required long StartBytes { get; init; }
    public required long SizeBytes { get; init; }
    public required string Type { get; init; }
    public string? Name { get; init; }
    public string? PartitionUuid { get; init; }
    public required string Filesystem { get; init; }
    public string? Label { get; init; }
    public string? Uuid { get; init; }
    public required int BlockSize { get; init; }
    public required long BlockCount { get; init; }
    public required long UsedBlocks { get; init; }

    /// <summary>How the used blocks were found, for a person ("ext4 block bitmaps", "whole copy: unknown filesystem").</summary>
    public required string Method { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>The zstd levels a capture used: one level, or an adaptive range (the capture log says how many chunks
/// went at each level).</summary>
public sealed record CompressionInfo
{
    public string Codec { get; init; } = "zstd";
    public required int LowestLevel { get; init; }
    public required int HighestLevel { get; init; }

    /// <summary>True when the level followed the machine between <see cref="LowestLevel"/> and <see cref="HighestLevel"/>.</summary>
    public required bool Adaptive { get; init; }

    /// <summary>"zstd level 3", or "zstd levels 3..6 (adaptive)".</summary>
    public override string ToString() =>
        Adaptive ? $"{Codec} levels {LowestLevel}..{HighestLevel} (adaptive)" : $"{Codec} level {LowestLevel}";
}

/// <summary>A byte range outside the partitions that the image holds.</summary>
public sealed record RegionInfo
{
    /// <summary>One of <see cref="RegionKinds"/>.</summary>
    public required string Kind { get; init; }
    public required long StartBytes { get; init; }
    public required long SizeBytes { get; init; }
}

/// <summary>The names of <see cref="RegionInfo.Kind"/>.</summary>
public static class RegionKinds
{
    public const string PartitionTable = "partition-table";
    public const string BootLoaderGap = "boot-loader-gap";
    public const string GptBackup = "gpt-backup";
    public const string Unpartitioned = "unpartitioned";
}

/// <summary>Source-generated JSON for <see cref="ImageMetadata"/>: no reflection, so NativeAOT keeps it.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageMetadata))]
public sealed partial class ImageMetadataJsonContext : JsonSerializerContext;
