using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveImager.Formats.ImageFormat;

/// <summary>What the metadata frame says about the source disk, its table, partitions and copied regions.</summary>
public sealed partial record ImageMetadata
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

    /// <summary>The image an incremental image was captured on (version 5, header flag Incremental); null otherwise.</summary>
    public BaseImage? Base { get; init; }

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
}

/// <summary>The base of an incremental image: which image (by id) and where to find it (a file name in the same store).</summary>
public sealed record BaseImage
{
    public required Guid ImageId { get; init; }

    /// <summary>The base's file name (without a directory): the chain is looked up beside the image.</summary>
    public required string Name { get; init; }

    public required DateTimeOffset CreatedUtc { get; init; }
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

    /// <summary>Bytes the filesystem marks in use but proves never initialised, not copied (ext4 inode tables past
    /// bg_itable_unused); version 2.</summary>
    public long UnusedMetadataBytes { get; init; }

    /// <summary>What a restore must do to this partition after writing it, by name (<see cref="KnownFixups"/>);
    /// version 2. A reader refuses an image naming one it does not know.</summary>
    public IReadOnlyList<string> Fixups { get; init; } = [];

    /// <summary>The fix-ups this version applies.</summary>
    public static IReadOnlyList<string> KnownFixups { get; } = [FileSystems.Ext.ExtInodeTableFixup.Name];
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
