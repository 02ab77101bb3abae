using System.Text.Json.Serialization;

namespace LiveImager.Engine.Deploy;

/// <summary>The results file an unattended job leaves on its store (docs/unattended.md, Results file).</summary>
/// <param name="Job">The job line, which never holds a password.</param>
/// <param name="MegabytesPerSecond">Disk data bytes (10^6) per second of the whole job.</param>
/// <param name="Log">The file name of the log copy beside this file.</param>
public sealed record UnattendedResult(
    string Job,
    string Verb,
    int ExitCode,
    bool Ok,
    string? Error,
    long BytesRead,
    long BytesWritten,
    long DataBytes,
    double Seconds,
    double MegabytesPerSecond,
    string? Image,
    string? Target,
    string Host,
    DateTimeOffset Started,
    DateTimeOffset Finished,
    string Log);

/// <summary>Source-generated JSON for <see cref="UnattendedResult"/> (no reflection under NativeAOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(UnattendedResult))]
public sealed partial class UnattendedJsonContext : JsonSerializerContext;
