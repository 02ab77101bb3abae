using System.Diagnostics;
using System.Runtime.Versioning;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Logging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>The umask is the process's: tests that change it run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UmaskCollection
{
    public const string Name = "umask";
}

/// <summary>Issue #24, holes 2 and 4: what the tool creates is private whatever the umask, and a symbolic link inside a
/// store is never written through.</summary>
[Collection(UmaskCollection.Name)]
[SupportedOSPlatform("linux")]
public sealed class PrivateFilesTests : IDisposable
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = PrivateFile | UnixFileMode.UserExecute;

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData(0b000_010_010)]
    [InlineData(0)]
    public void EveryCreatedFileIs0600AndEveryDirectory0700WhateverTheUmask(int mask)
    {
        int saved = Interop.umask(mask);
        try
        {
            string source = _scratch.File("disk.img");
            var bytes = new byte[1 << 20];
            new Random(24).NextBytes(bytes);
            File.WriteAllBytes(source, bytes);
            string store = _scratch.File("store");
            Directory.CreateDirectory(store, PrivateDirectory);
            new CaptureJob(new CaptureOptions(source, Path.Combine(store, "one.lim"))).Run(CancellationToken.None);
            new CaptureJob(new CaptureOptions(source, Path.Combine(store, "split.lim"), SplitBytes: 256 * 1024)).Run(CancellationToken.None);

            string logDirectory = _scratch.File("log");
            using (var logger = LogSetup.CreateLogger(logDirectory))
            {
                logger.Information("a line");
            }
            var runner = new UnattendedRunner(_scratch.File("state"), logDirectory);
            Assert.True(runner.TryClaim("capture"));
            UnattendedReport report = runner.Run(Config($"capture {source} {store}/one.lim"), Path.Combine(store, "one.lim"),
                () => new StoreOptions(), () => new UnattendedJobOutcome(0, null, null));
            Assert.Null(report.StoreProblem);

            string[] files = [.. Directory.GetFiles(store, "*", SearchOption.AllDirectories),
                .. Directory.GetFiles(logDirectory), runner.MarkerPath];
            Assert.Contains(files, f => f.EndsWith("split.lim.002", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith(".json", StringComparison.Ordinal));
            Assert.Equal(2, files.Count(f => f.EndsWith(".log", StringComparison.Ordinal)));
            Assert.All(files, f => Assert.True(File.GetUnixFileMode(f) == PrivateFile, $"{f} is {File.GetUnixFileMode(f)}"));
            string[] directories = [logDirectory, Path.Combine(store, UnattendedRunner.ResultsDirectoryName), _scratch.File("state")];
            Assert.All(directories, d => Assert.True(File.GetUnixFileMode(d) == PrivateDirectory, $"{d} is {File.GetUnixFileMode(d)}"));
        }
        finally
        {
            Interop.umask(saved);
        }
    }

    [Fact]
    public void ASymlinkedResultsDirectoryLeavesItsTargetUntouched()
    {
        string store = _scratch.File("store");
        string victim = _scratch.File("etc");
        Directory.CreateDirectory(store);
        Directory.CreateDirectory(victim);
        File.WriteAllText(Path.Combine(victim, "passwd"), "root:x:0:0\n");
        File.CreateSymbolicLink(Path.Combine(store, UnattendedRunner.ResultsDirectoryName), victim);
        string logDirectory = _scratch.File("log");
        var runner = new UnattendedRunner(_scratch.File("state"), logDirectory);

        UnattendedReport report = runner.Run(Config($"capture /dev/sdz {store}/pc.lim"), Path.Combine(store, "pc.lim"),
            () => new StoreOptions(), () => new UnattendedJobOutcome(0, null, null));

        Assert.Equal(["passwd"], Directory.GetFileSystemEntries(victim).Select(Path.GetFileName));
        Assert.Equal("root:x:0:0\n", File.ReadAllText(Path.Combine(victim, "passwd")));
        Assert.Contains("symbolic link", report.StoreProblem);
        Assert.Equal(logDirectory, Path.GetDirectoryName(report.ResultFile));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ASymlinkedImageNameLeavesItsTargetUntouched(bool force)
    {
        string source = _scratch.File("disk.img");
        File.WriteAllBytes(source, new byte[256 * 1024]);
        string store = _scratch.File("store");
        Directory.CreateDirectory(store);
        string victim = _scratch.File("shadow");
        File.WriteAllText(victim, "root:$6$hash\n");
        string image = Path.Combine(store, "pc.lim");
        File.CreateSymbolicLink(image, victim);
        // A link where the .partial goes, pointing to a file not yet there: O_EXCL | O_NOFOLLOW refuses to create it.
        string dangling = _scratch.File("created-through-link");
        File.CreateSymbolicLink(image + ".partial", dangling);

        var capture = new CaptureJob(new CaptureOptions(source, image, Force: force));
        if (force)
        {
            capture.Run(CancellationToken.None);
            Assert.Null(new FileInfo(image).LinkTarget);
            Assert.True(new FileInfo(image).Length > 0);
        }
        else
        {
            Assert.ThrowsAny<Exception>(() => capture.Run(CancellationToken.None));
            Assert.Equal(victim, new FileInfo(image).LinkTarget);
        }

        Assert.Equal("root:$6$hash\n", File.ReadAllText(victim));
        Assert.False(File.Exists(dangling));
    }

    [Fact]
    public void CreateNewRefusesADanglingLink()
    {
        string link = _scratch.File("link");
        File.CreateSymbolicLink(link, _scratch.File("target"));

        var e = Assert.Throws<IOException>(() => PrivateFiles.CreateNew(link).Dispose());

        Assert.Contains("already exists", e.Message);
        Assert.False(File.Exists(_scratch.File("target")));
    }

    [Fact]
    public void ChildrenGetNoSecretAndOnlySystemDirectoriesOnPath()
    {
        var start = new ProcessStartInfo("/usr/bin/env") { RedirectStandardOutput = true, UseShellExecute = false };
        start.Environment[StoreCredentials.PasswordVariable] = "S3cret";
        start.Environment[LiveImager.Engine.Imaging.PassphraseSource.Variable] = "Image passphrase";
        start.Environment["PATH"] = ":.:relative/bin:/tmp/stick/bin:/usr/bin";

        StoreTools.Sanitize(start);
        using Process process = Process.Start(start)!;
        string environment = process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        Assert.DoesNotContain("S3cret", environment);
        Assert.DoesNotContain(StoreCredentials.PasswordVariable, environment);
        Assert.DoesNotContain("Image passphrase", environment);
        Assert.DoesNotContain(LiveImager.Engine.Imaging.PassphraseSource.Variable, environment);
        string path = environment.Split('\n').Single(l => l.StartsWith("PATH=", StringComparison.Ordinal))["PATH=".Length..];
        Assert.All(path.Split(':'), dir => Assert.Contains(dir, StoreTools.SystemDirectories));
        Assert.Null(StoreTools.Find("../bin/sh"));
        Assert.StartsWith("/", StoreTools.Find("sh"));
    }

    [Fact]
    public void MountToolsRunWithoutThePasswordVariable()
    {
        string? saved = Environment.GetEnvironmentVariable(StoreCredentials.PasswordVariable);
        Environment.SetEnvironmentVariable(StoreCredentials.PasswordVariable, "S3cret");
        try
        {
            // env is a stand-in for a mount helper: StoreTools.Run starts it exactly as it starts mount.cifs or sshfs.
            ToolOutput output = StoreTools.Run(new MountCommand("sh", ["-c", "env >&2"]));

            Assert.Equal(0, output.ExitCode);
            Assert.DoesNotContain("S3cret", output.StandardError);
            Assert.Contains("LC_ALL=C", output.StandardError);
        }
        finally
        {
            Environment.SetEnvironmentVariable(StoreCredentials.PasswordVariable, saved);
        }
    }

    private static UnattendedConfig Config(string line) =>
        UnattendedConfig.Load(KernelCommandLine.Parse($"liveimager.run=\"{line}\""), "/nonexistent.conf")!;
}
