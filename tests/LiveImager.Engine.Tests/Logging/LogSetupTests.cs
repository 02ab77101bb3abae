using LiveImager.Engine.Logging;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Logging;

public sealed class LogSetupTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private readonly string? _savedVariable = Environment.GetEnvironmentVariable(LogSetup.LogDirectoryVariable);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(LogSetup.LogDirectoryVariable, _savedVariable);
        _scratch.Dispose();
    }

    [Fact]
    public void OnTheLiveSystemLogsGoToVarLog()
    {
        Environment.SetEnvironmentVariable(LogSetup.LogDirectoryVariable, _scratch.File("configured"));
        Assert.Equal("/var/log/liveimager", LogSetup.ResolveDirectory(liveMediumMountPoint: _scratch.Path));
    }

    [Fact]
    public void ElsewhereTheVariableWinsOverTheStateDirectory()
    {
        string absentMedium = _scratch.File("no-medium");
        Environment.SetEnvironmentVariable(LogSetup.LogDirectoryVariable, _scratch.File("configured"));
        Assert.Equal(_scratch.File("configured"), LogSetup.ResolveDirectory(absentMedium));
        Environment.SetEnvironmentVariable(LogSetup.LogDirectoryVariable, null);
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".local", "state", "liveimager"), LogSetup.ResolveDirectory(absentMedium));
    }

    [Fact]
    public void TheLoggerWritesScalarPropertiesToADailyFile()
    {
        string directory = _scratch.File("logs");
        using (var logger = LogSetup.CreateLogger(directory))
        {
            logger.Information("Captured {Disk} serial {Serial} in {Seconds} s", "/dev/sda", "S3Z9NB0K123456X", 12.5);
        }
        string file = Assert.Single(Directory.GetFiles(directory, "liveimager-*.log"));
        string text = File.ReadAllText(file);
        Assert.Contains("[INF]", text);
        Assert.Contains("Captured /dev/sda serial S3Z9NB0K123456X in 12.5 s", text);
        Assert.Contains($"({Environment.ProcessId})", text);
    }

    [Fact]
    public void AnUncreatableDirectoryGivesASilentLoggerNotAFailure()
    {
        string blocker = _scratch.File("a-file");
        File.WriteAllText(blocker, "");
        using var logger = LogSetup.CreateLogger(Path.Combine(blocker, "logs"));
        logger.Information("nothing to see");
        Assert.False(Directory.Exists(Path.Combine(blocker, "logs")));
    }
}
