using System.Text.Json.Serialization;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary>Source-generated JSON for <c>liveimager images --json</c> (no reflection under NativeAOT); docs/storage.md shows the shape.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoreListing))]
internal sealed partial class ImagesJsonContext : JsonSerializerContext;
