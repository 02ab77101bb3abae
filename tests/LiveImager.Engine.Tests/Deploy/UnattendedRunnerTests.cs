using System.Text.Json;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Logging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Deploy;

/// <summary>The marker, and where the results file and the log copy go: the image's directory, or the log directory
/// when that cannot take them.</summary>
public sealed class UnattendedRunnerTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void TheMarkerLetsTheJobRunOnce()
    {
        var runner = new UnattendedRunner(_scratch.File("state"), _scratch.File("log"));
        Assert.True(runner.TryClaim("verify /a.lim"));
        Assert.False(runner.TryClaim("verify /a.lim"));
        Assert.EndsWith(" verify /a.lim", File.ReadAllText(runner.MarkerPath).Trim());
    }

    [Fact]
    public void ResultsAndTheLogCopyGoBesideTheImage()
    {
        string logDirectory = _scratch.File("log");
        Directory.CreateDirectory(logDirectory);
        File.WriteAllText(LogSetup.CurrentFile(logDirectory, DateTime.Now), "the job's log\n");
        string store = _scratch.File("store");
        Directory.CreateDirectory(store);
        UnattendedConfig config = Config($"capture /dev/sdz {store}/pc.lim");
        var runner = new UnattendedRunner(_scratch.File("state"), logDirectory);

        UnattendedReport report = runner.Run(config, $"{store}/pc.lim", () => new StoreOptions(),
            () => new UnattendedJobOutcome(0, null, new JobFigures(4_000_000, 1_000_000, 4_000_000, TimeSpan.FromSeconds(1), $"{store}/pc.lim", "/dev/sdz")));

        Assert.Null(report.StoreProblem);
        Assert.Equal(Path.Combine(store, "liveimager-results"), Path.GetDirectoryName(report.ResultFile));
        Assert.Matches(@"^\d{8}-\d{6}-.+-capture\.json$", Path.GetFileName(report.ResultFile));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(report.ResultFile));
        JsonElement root = json.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal(4_000_000, root.GetProperty("bytesRead").GetInt64());
        Assert.Equal(1_000_000, root.GetProperty("bytesWritten").GetInt64());
        Assert.Equal("/dev/sdz", root.GetProperty("target").GetString());
        Assert.True(root.GetProperty("megabytesPerSecond").GetDouble() > 0);
        Assert.Equal("the job's log\n", File.ReadAllText(Path.Combine(store, "liveimager-results", root.GetProperty("log").GetString()!)));
    }

    [Fact]
    public void AStoreThatCannotBeReachedLeavesTheResultsInTheLogDirectory()
    {
        string logDirectory = _scratch.File("log");
        UnattendedConfig config = Config("verify /nonexistent/dir/pc.lim");
        var runner = new UnattendedRunner(_scratch.File("state"), logDirectory);

        UnattendedReport report = runner.Run(config, "/nonexistent/dir/pc.lim", () => new StoreOptions(),
            () => new UnattendedJobOutcome(1, "the image is missing", null));

        Assert.Equal("the directory /nonexistent/dir does not exist", report.StoreProblem);
        Assert.Equal(logDirectory, Path.GetDirectoryName(report.ResultFile));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(report.ResultFile));
        Assert.False(json.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(1, json.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal("the image is missing", json.RootElement.GetProperty("error").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("megabytesPerSecond").GetDouble());
    }

    private static UnattendedConfig Config(string line) =>
        UnattendedConfig.Load(KernelCommandLine.Parse($"liveimager.run=\"{line}\""), "/nonexistent.conf")!;
}
