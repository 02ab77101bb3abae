using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>Issue 23 through the published binary: a mistyped option or disk name is a usage error (exit 2) raised
/// before anything is opened, mounted or created; it never becomes a target. Each case runs in an empty working
/// directory and checks that it stays empty, that nothing appeared in /dev or the store, and that an existing target's
/// bytes are unchanged.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class CliUsageTests : IDisposable
{
    private const int UsageError = 2;
    private const int DamagedImage = 4;
    private const long DiskBytes = 64L << 20;
    private const string MistypedDisk = "/dev/sdzz9";

    private readonly ScratchDirectory _scratch = new();
    private readonly string _workingDirectory;

    public CliUsageTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
        _workingDirectory = Directory.CreateDirectory(_scratch.File("cwd")).FullName;
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>Every verb <c>liveimager --help</c> lists (read from its output, so a new verb is covered when it lands)
    /// and the bare command: --no-such-option exits 2, names the option, and creates nothing.</summary>
    [SkippableFact]
    public void EveryVerbAndTheBareCommandRefuseAnUnknownOption()
    {
        string binary = PublishedBinary.Require();
        string[] verbs = Verbs(ExternalTool.Run(binary, "--help"));
        Assert.Contains("restore", verbs);
        Assert.Contains("unattended", verbs);

        foreach (string[] args in verbs.Select(verb => new[] { verb, "--no-such-option" }).Prepend(["--no-such-option"]))
        {
            ToolResult result = RunInWorkingDirectory(binary, args);

            string command = string.Join(' ', args);
            Assert.True(result.ExitCode == UsageError, $"liveimager {command} exited {result.ExitCode}:\n{result.StandardError}{result.StandardOutput}");
            Assert.Contains("unknown option --no-such-option", result.StandardError);
            Assert.Empty(Directory.GetFileSystemEntries(_workingDirectory));
        }
    }

    /// <summary>A disk name that does not exist: refused, and no file /dev/sdzz9 of the image's size in the live system's RAM.</summary>
    [SkippableFact]
    public void RestoreOntoAMistypedDiskNameCreatesNothing()
    {
        string binary = PublishedBinary.Require();
        Skip.If(File.Exists(MistypedDisk) || Directory.Exists(MistypedDisk), $"{MistypedDisk} exists on this machine");
        string image = CaptureImage(binary);
        string[] store = StoreListing(image);

        ToolResult result = RunInWorkingDirectory(binary, "restore", image, MistypedDisk, "--yes");

        AssertUsageError(result, $"restore: {MistypedDisk} does not exist: no disk has that name");
        Assert.False(File.Exists(MistypedDisk), $"{MistypedDisk} was created");
        Assert.Equal(store, StoreListing(image));
    }

    /// <summary>The same rule for the disks capture and inspect read: a mistyped name is a usage error and no image is made.</summary>
    [SkippableFact]
    public void CaptureAndInspectOfAMistypedDiskNameAreUsageErrors()
    {
        string binary = PublishedBinary.Require();
        Skip.If(File.Exists(MistypedDisk) || Directory.Exists(MistypedDisk), $"{MistypedDisk} exists on this machine");

        ToolResult capture = RunInWorkingDirectory(binary, "capture", MistypedDisk, "image.lim");
        ToolResult inspect = RunInWorkingDirectory(binary, "inspect", MistypedDisk);

        AssertUsageError(capture, $"capture: {MistypedDisk} does not exist: no disk has that name");
        AssertUsageError(inspect, $"inspect: {MistypedDisk} does not exist: no disk has that name");
        Assert.False(File.Exists(MistypedDisk));
    }

    /// <summary>An option that does not exist, or a mistyped one, after a real disk: neither becomes a second target,
    /// and the disk keeps every byte.</summary>
    [SkippableTheory]
    [InlineData("--shrink", "unknown option --shrink: the options are --yes, --discard")]
    [InlineData("--verfy", "unknown option --verfy: did you mean --verify-first?")]
    [InlineData("--json-progres", "unknown option --json-progres: did you mean --json-progress?")]
    public void AMistypedRestoreOptionIsNoTargetAndTheDiskIsUntouched(string option, string message)
    {
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        string image = CaptureImage(binary);
        string[] store = StoreListing(image);
        string backing = _scratch.SparseFile("target.img", DiskBytes);
        WriteRandomHead(backing);
        using LoopDevice target = LoopDevice.Attach(backing);
        string before = Sha256(target.Path);

        ToolResult result = RunInWorkingDirectory(binary, "restore", image, target.Path, option, "--yes");

        AssertUsageError(result, $"liveimager restore: {message}");
        Assert.Equal(before, Sha256(target.Path));
        Assert.Equal(store, StoreListing(image));
    }

    /// <summary>capture SOURCE --split4G: the option and its value run together are not the image's name.</summary>
    [SkippableFact]
    public void CaptureWithAnOptionForTheImageWritesNoImage()
    {
        string binary = PublishedBinary.Require();
        string disk = MakeDisk();

        ToolResult result = RunInWorkingDirectory(binary, "capture", disk, "--split4G");

        AssertUsageError(result, "liveimager capture: unknown option --split4G: did you mean '--split 4G'?");
    }

    /// <summary>verify --bogus IMAGE blames --bogus, not the image that followed it; --against a missing disk is refused.</summary>
    [SkippableFact]
    public void VerifyBlamesTheUnknownOptionAndAMissingDisk()
    {
        string binary = PublishedBinary.Require();
        string image = CaptureImage(binary);

        ToolResult bogus = RunInWorkingDirectory(binary, "verify", "--bogus", image);
        ToolResult against = RunInWorkingDirectory(binary, "verify", image, "--against", MistypedDisk);

        AssertUsageError(bogus, "liveimager verify: unknown option --bogus: ");
        Assert.DoesNotContain(image, bogus.StandardError);
        AssertUsageError(against, $"verify: {MistypedDisk} does not exist: no disk has that name");
    }

    /// <summary>A value that starts with '-' is a typo, not a path; a path that starts with '-' goes after -- (and is then
    /// held to the target rule like any other).</summary>
    [SkippableFact]
    public void AValueThatStartsWithADashIsRefusedAndDoubleDashEndsTheOptions()
    {
        string binary = PublishedBinary.Require();
        string image = CaptureImage(binary);

        ToolResult value = RunInWorkingDirectory(binary, "verify", image, "--password-file", "-x");
        ToolResult standardOutput = RunInWorkingDirectory(binary, "restore", image, "-", "--yes");
        ToolResult afterDoubleDash = RunInWorkingDirectory(binary, "restore", image, "--yes", "--", "-new.img");

        AssertUsageError(value, "liveimager verify: --password-file -x: a value that starts with '-' is taken for a mistyped option");
        AssertUsageError(standardOutput, "liveimager restore: '-' (standard input or output) cannot be the target here");
        AssertUsageError(afterDoubleDash, "restore: -new.img does not exist: a restore target is an existing disk");
    }

    /// <summary>A damaged image has its own exit code, distinct from a usage error and a failed job.</summary>
    [SkippableFact]
    public void ADamagedImageExitsFour()
    {
        string binary = PublishedBinary.Require();
        string image = CaptureImage(binary);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            // Past the header and metadata, inside the data frames: a checksum fails.
            stream.Position = stream.Length / 2;
            int value = stream.ReadByte();
            stream.Position -= 1;
            stream.WriteByte((byte)(value ^ 0x5a));
        }

        ToolResult verify = RunInWorkingDirectory(binary, "verify", image);

        Assert.True(verify.ExitCode == DamagedImage, $"verify exited {verify.ExitCode}:\n{verify.StandardError}");
        Assert.Contains("the image is damaged", verify.StandardError);
    }

    /// <summary>liveimager.conf with a mistyped key, option or target: refused before anything is written, no marker,
    /// the reason on the console and in a results file on the job's store, and the target disk untouched.</summary>
    [SkippableFact]
    public void AnUnattendedJobWithATypoIsRefusedOnTheStoreBeforeWriting()
    {
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        string image = CaptureImage(binary);
        string store = Path.GetDirectoryName(image)!;
        string backing = _scratch.SparseFile("target.img", DiskBytes);
        WriteRandomHead(backing);
        using LoopDevice target = LoopDevice.Attach(backing);
        string before = Sha256(target.Path);
        (string Conf, string Reason)[] cases =
        [
            ($"run = restore {image} {target.Path} --yes\npasword = secret\n", "unknown key 'pasword' (keys: run, after, password, passphrase, fit); did you mean 'password'?"),
            ($"run = restore {image} {target.Path} --shrink --yes\n", "does not parse: unknown option --shrink"),
            ($"run = restore {image} {MistypedDisk} --yes\n", $"{MistypedDisk} does not exist: no disk has that name"),
        ];

        foreach (var (text, reason) in cases)
        {
            string conf = _scratch.File($"liveimager-{Guid.NewGuid():N}.conf");
            File.WriteAllText(conf, text);
            string cmdline = _scratch.File($"cmdline-{Guid.NewGuid():N}");
            File.WriteAllText(cmdline, "boot=live quiet\n");
            string results = Path.Combine(store, "liveimager-results");
            if (Directory.Exists(results))
            {
                Directory.Delete(results, recursive: true);
            }

            ToolResult run = RunInWorkingDirectory(binary, "unattended", "--cmdline", cmdline, "--conf", conf, "--state-dir", _scratch.File("state"), "--no-power");

            Assert.True(run.ExitCode == UsageError, $"{text}: exited {run.ExitCode}:\n{run.StandardOutput}{run.StandardError}");
            Assert.Contains(reason, run.StandardError);
            Assert.Contains("liveimager unattended: REFUSED: nothing was run", run.StandardOutput);
            using JsonDocument result = JsonDocument.Parse(File.ReadAllText(Assert.Single(Directory.GetFiles(results, "*-restore.json"))));
            Assert.False(result.RootElement.GetProperty("ok").GetBoolean());
            Assert.Equal(UsageError, result.RootElement.GetProperty("exitCode").GetInt32());
            Assert.Contains(reason, result.RootElement.GetProperty("error").GetString());
            Assert.Contains("Unattended job refused before it ran", File.ReadAllText(Assert.Single(Directory.GetFiles(results, "*-restore.log"))));
            Assert.DoesNotContain("secret", File.ReadAllText(Assert.Single(Directory.GetFiles(results, "*-restore.json"))));
            Assert.False(File.Exists(_scratch.File("state/unattended.done")), "a refused job claims no marker");
            Assert.Equal(before, Sha256(target.Path));
            Assert.False(File.Exists(MistypedDisk));
            Assert.Empty(Directory.GetFileSystemEntries(_workingDirectory));
        }
    }

    /// <summary>The verb names of <c>liveimager --help</c>'s Commands section.</summary>
    private static string[] Verbs(string help)
    {
        string[] lines = help.Split('\n');
        int start = Array.FindIndex(lines, l => l.TrimEnd() == "Commands:");
        Assert.True(start >= 0, $"no Commands: section in\n{help}");
        return [.. lines.Skip(start + 1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal))
            .Select(l => l.Trim().Split(' ')[0])];
    }

    private void AssertUsageError(ToolResult result, string message)
    {
        Assert.True(result.ExitCode == UsageError, $"exited {result.ExitCode}:\n{result.StandardError}{result.StandardOutput}");
        Assert.Contains(message, result.StandardError);
        Assert.Empty(Directory.GetFileSystemEntries(_workingDirectory));
    }

    /// <summary>Runs the binary in the (empty) working directory, with nothing on its standard input.</summary>
    private ToolResult RunInWorkingDirectory(string binary, params string[] args)
    {
        var info = new ProcessStartInfo(binary)
        {
            WorkingDirectory = _workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"liveimager {string.Join(' ', args)} ran over 2 minutes (a TUI waiting for keys?)");
        }
        return new ToolResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A GPT disk file with one small ext4 partition, captured with the published binary into store/disk.lim.</summary>
    private string CaptureImage(string binary)
    {
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string image = Path.Combine(store, "disk.lim");
        ExternalTool.Run(binary, "capture", MakeDisk(), image);
        return image;
    }

    private string MakeDisk()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string disk = _scratch.SparseFile("disk.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, size=32M, type=linux\n", "-q", disk);
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-L", "usage", "-E", $"offset={1L << 20}", disk, "32M");
        return disk;
    }

    /// <summary>Random bytes at the start of a target, so that any write would change its checksum.</summary>
    private static void WriteRandomHead(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        var data = new byte[4 << 20];
        Random.Shared.NextBytes(data);
        stream.Write(data);
    }

    private static string[] StoreListing(string image) =>
        [.. Directory.GetFileSystemEntries(Path.GetDirectoryName(image)!).Order()];

    private static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
