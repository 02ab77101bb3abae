using System.Text.Json.Serialization;
using LiveImager.Engine.Devices;

namespace LiveImager.Cli;

/// <summary>Source-generated JSON for <c>liveimager list --json</c> (no reflection under NativeAOT); the shape is documented in docs/list.md.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(IReadOnlyList<DiskInfo>))]
internal sealed partial class ListJsonContext : JsonSerializerContext;
