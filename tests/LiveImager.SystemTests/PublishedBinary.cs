using System.Text.Json;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>The NativeAOT binary that <c>make test</c> publishes first and names in $LIVEIMAGER_BINARY.</summary>
public static class PublishedBinary
{
    public const string Variable = "LIVEIMAGER_BINARY";

    /// <summary>The binary's path; skips the calling test when it is not given.</summary>
    public static string Require()
    {
        string? path = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrEmpty(path),
            $"${Variable} is not set: `make test` publishes the AOT binary and sets it (or: make publish && {Variable}=$PWD/artifacts/liveimager dotnet test ...)");
        Assert.True(File.Exists(path), $"${Variable} names {path}, which does not exist");
        return path;
    }

    /// <summary>Runs <c>liveimager list --json</c> and parses what it prints.</summary>
    public static JsonDocument ListJson(string binary) => JsonDocument.Parse(ExternalTool.Run(binary, "list", "--json"));
}
