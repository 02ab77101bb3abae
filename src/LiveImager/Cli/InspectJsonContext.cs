using System.Text.Json.Serialization;

namespace LiveImager.Cli;

/// <summary>Source-generated JSON for <see cref="InspectReport"/>: no reflection, so NativeAOT keeps it.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(InspectReport))]
internal sealed partial class InspectJsonContext : JsonSerializerContext;
