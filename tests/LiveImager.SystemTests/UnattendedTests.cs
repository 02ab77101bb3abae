using System.Text.Json;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary><c>liveimager unattended</c> through the published binary, as the live session calls it: the job from a
/// kernel command line file or a conf file, results on the store, the marker, exit codes.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class UnattendedTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public UnattendedTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>The demo's disk on a loop device captured unattended, the same boot's second run refused by the marker,
    /// then a conf-file job restores it onto another loop disk, which scripts/check-test-disk.sh finds whole.</summary>
    [SkippableFact]
    public void ALoopDiskCapturedAndRestoredUnattendedComesBackWhole()
    {
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mcopy", "mtools");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) to fill the NTFS partition through ntfs-3g");
        string scripts = Path.GetDirectoryName(RepositoryScripts.Path("make-test-disk.sh"))!;
        string disk = _scratch.File("disk.img");
        ExternalTool.Run("bash", Path.Combine(scripts, "make-test-disk.sh"), disk, "160M");
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string image = Path.Combine(store, "pc 1.lim");
        string target = _scratch.SparseFile("target.img", new FileInfo(disk).Length);

        ToolResult capture, again, restore;
        using (LoopDevice source = LoopDevice.Attach(disk))
        {
            string cmdline = CommandLine($"BOOT_IMAGE=/live/vmlinuz boot=live liveimager.run=\"capture {source.Path} '{image}'\" liveimager.after=poweroff quiet");
            capture = Unattended(binary, cmdline, conf: null, state: "boot1");
            again = Unattended(binary, cmdline, conf: null, state: "boot1");

            Assert.True(capture.ExitCode == 0, capture.StandardOutput + capture.StandardError);
            using JsonDocument captured = Result(store, "capture");
            JsonElement json = captured.RootElement;
            Assert.True(json.GetProperty("ok").GetBoolean());
            Assert.Equal(0, json.GetProperty("exitCode").GetInt32());
            Assert.Equal($"capture {source.Path} '{image}'", json.GetProperty("job").GetString());
            Assert.Equal(source.Path, json.GetProperty("target").GetString());
            Assert.Equal(image, json.GetProperty("image").GetString());
            Assert.True(json.GetProperty("bytesRead").GetInt64() > 10L << 20, "the disk's used data was read");
            Assert.Equal(new FileInfo(image).Length, json.GetProperty("bytesWritten").GetInt64());
            Assert.True(json.GetProperty("megabytesPerSecond").GetDouble() > 0);
            string log = Path.Combine(store, "liveimager-results", json.GetProperty("log").GetString()!);
            Assert.Contains("Unattended job started", File.ReadAllText(log));
        }
        Assert.Contains("liveimager unattended: OK: capture", capture.StandardOutput);
        Assert.Contains("--no-power: not carrying out after = poweroff", capture.StandardOutput);
        Assert.Matches(@"capture: 100% ", capture.StandardError);
        Assert.DoesNotContain("\r", capture.StandardError);
        Assert.Equal(3, again.ExitCode);
        Assert.Contains("the job already ran in this boot", again.StandardError);
        Assert.Single(Directory.GetFiles(Path.Combine(store, "liveimager-results"), "*.json"));

        using (LoopDevice restoreTarget = LoopDevice.Attach(target))
        {
            string conf = Conf($"# room 12\nrun = restore \"{image}\" {restoreTarget.Path} --yes\nafter = shell\n");
            restore = Unattended(binary, CommandLine("boot=live quiet"), conf, state: "boot2");
        }
        Assert.True(restore.ExitCode == 0, restore.StandardOutput + restore.StandardError);
        Assert.DoesNotContain("not carrying out", restore.StandardOutput);
        using JsonDocument restored = Result(store, "restore");
        Assert.True(restored.RootElement.GetProperty("ok").GetBoolean());
        Assert.True(restored.RootElement.GetProperty("bytesWritten").GetInt64() > 10L << 20);
        Assert.Equal(new FileInfo(image).Length, restored.RootElement.GetProperty("bytesRead").GetInt64());
        ToolResult check = ExternalTool.RunUnchecked("bash", null, Path.Combine(scripts, "check-test-disk.sh"), target, disk + ".manifest");
        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        Assert.Contains("all checks passed", check.StandardOutput);
    }

    /// <summary>A disk too small for the image (a loop device: a file target would just grow): exit 1, a FAILED line,
    /// and the results file says why.</summary>
    [SkippableFact]
    public void ARestoreOntoATooSmallDiskFailsWithItsReasonInTheResults()
    {
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string disk = _scratch.SparseFile("ext4.img", 48L << 20);
        ExternalTool.Run("mkfs.ext4", "-q", disk);
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        ExternalTool.Run(binary, "capture", disk, Path.Combine(store, "small.lim"));
        using LoopDevice tiny = LoopDevice.Attach(_scratch.SparseFile("tiny.img", 16L << 20));
        string target = tiny.Path;

        ToolResult run = Unattended(binary, CommandLine($"liveimager.run=\"restore {store}/small.lim {target} --yes\" liveimager.after=shell"), null, "boot");

        Assert.Equal(1, run.ExitCode);
        Assert.Matches("liveimager unattended: FAILED: .*" + System.Text.RegularExpressions.Regex.Escape(target), run.StandardOutput);
        using JsonDocument result = Result(store, "restore");
        Assert.False(result.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(1, result.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Contains(target, result.RootElement.GetProperty("error").GetString());
    }

    /// <summary>fit = yes in the conf file (#20): the restore onto a loop disk smaller than the image needs shrinks the
    /// ext4 partition and succeeds (e2fsck -fn clean, sgdisk -v clean, the results file ok); onto one too small even for
    /// the data it fails with the partition's numbers in the results, before anything is written.</summary>
    [SkippableFact]
    public void FitInTheConfFileRestoresOntoASmallerDiskAndRefusesOneTooSmallForTheData()
    {
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        ExternalTool.Require("nbdkit", "nbdkit");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        ExternalTool.Require("resize2fs", "e2fsprogs");
        ExternalTool.Require("sgdisk", "gdisk");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) for nbdfuse");
        string files = Directory.CreateDirectory(_scratch.File("files")).FullName;
        File.WriteAllBytes(Path.Combine(files, "data.bin"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(3 << 20));
        string disk = _scratch.SparseFile("gpt.img", 64L << 20);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, size=98304, type=linux\n", "-q", disk);
        ExternalTool.Run("mke2fs", "-q", "-F", "-t", "ext4", "-E", $"offset={1 << 20}", "-d", files, disk, "48M");
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string image = Path.Combine(store, "pc.lim");
        ExternalTool.Run(binary, "capture", disk, image);

        ToolResult fitted, refused;
        using (LoopDevice small = LoopDevice.Attach(_scratch.SparseFile("small.img", 32L << 20)))
        {
            string conf = Conf($"run = restore {image} {small.Path} --yes\nafter = shell\nfit = yes\n");
            fitted = Unattended(binary, CommandLine("boot=live quiet"), conf, state: "boot1");
            Assert.True(fitted.ExitCode == 0, fitted.StandardOutput + fitted.StandardError);
            Assert.Contains("restore: shrinking partition 1 (ext4) with resize2fs...", fitted.StandardError);
            ToolResult gpt = ExternalTool.RunUnchecked("sgdisk", null, "-v", small.Path);
            Assert.True(gpt.StandardOutput.Contains("No problems found", StringComparison.Ordinal), gpt.StandardOutput);
            string partition = Assert.Single(small.ScanPartitions());
            ToolResult fsck = ExternalTool.RunUnchecked("e2fsck", null, "-fn", partition);
            Assert.True(fsck.ExitCode == 0, fsck.StandardOutput + fsck.StandardError);
        }
        using (JsonDocument result = Result(store, "restore"))
        {
            Assert.True(result.RootElement.GetProperty("ok").GetBoolean());
            Assert.True(result.RootElement.GetProperty("bytesWritten").GetInt64() > 3L << 20);
        }
        Directory.Delete(Path.Combine(store, "liveimager-results"), recursive: true);

        using (LoopDevice tiny = LoopDevice.Attach(_scratch.SparseFile("tiny.img", 6L << 20)))
        {
            string conf = Conf($"run = restore {image} {tiny.Path} --yes\nafter = shell\nfit = yes\n");
            refused = Unattended(binary, CommandLine("boot=live quiet"), conf, state: "boot2");
        }
        Assert.Equal(1, refused.ExitCode);
        using JsonDocument failed = Result(store, "restore");
        Assert.Matches(@"^partition 1 \(ext4\) holds [0-9.]+ MB and needs [0-9.]+ MB with the margin, the target leaves room for [0-9.]+ MB .*; nothing was written$",
            failed.RootElement.GetProperty("error").GetString());
    }

    /// <summary>An image that is not there: the job fails, and its results still land in the (existing) store.</summary>
    [SkippableFact]
    public void AMissingImageFailsTheJob()
    {
        string binary = PublishedBinary.Require();
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;

        ToolResult run = Unattended(binary, CommandLine($"liveimager.run=\"verify {store}/absent.lim\" liveimager.after=shell"), null, "boot");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("liveimager unattended: FAILED: ", run.StandardOutput);
        using JsonDocument result = Result(store, "verify");
        Assert.False(result.RootElement.GetProperty("ok").GetBoolean());
        Assert.Contains("absent.lim", result.RootElement.GetProperty("error").GetString());
    }

    /// <summary>No job: exit 3 and not a word, so the session starts the TUI. A bad one: exit 2, the reason, no marker,
    /// and a results file on the job's store saying why.</summary>
    [SkippableFact]
    public void NothingConfiguredIsSilentAndABadConfigurationSaysWhere()
    {
        string binary = PublishedBinary.Require();
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string conf = Conf($"run = capture /dev/sda {store}/a.lim\ncolour = blue\n");

        ToolResult nothing = Unattended(binary, CommandLine("boot=live quiet splash"), null, "boot");
        ToolResult bad = Unattended(binary, CommandLine("boot=live"), conf, "boot");
        ToolResult badOption = Unattended(binary, CommandLine($"liveimager.run=\"capture /dev/sda {store}/b.lim --level 99\""), null, "boot");

        Assert.Equal(3, nothing.ExitCode);
        Assert.Equal("", nothing.StandardOutput + nothing.StandardError);
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal($"liveimager unattended: {conf} line 2: unknown key 'colour' (keys: run, after, password, passphrase, fit)\n", bad.StandardError);
        Assert.Equal(2, badOption.ExitCode);
        Assert.Contains("--level must be 1..19", badOption.StandardError);
        Assert.False(File.Exists(_scratch.File("boot/unattended.done")), "a job that never ran leaves no marker");
        // Both refusals report to the store (in the same second they share one results file name).
        foreach (string file in Directory.GetFiles(Path.Combine(store, "liveimager-results"), "*-capture.json"))
        {
            using JsonDocument refused = JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal(2, refused.RootElement.GetProperty("exitCode").GetInt32());
            Assert.StartsWith("refused, nothing was run: ", refused.RootElement.GetProperty("error").GetString());
        }
        Assert.False(File.Exists(Path.Combine(store, "a.lim")) || File.Exists(Path.Combine(store, "b.lim")));
    }

    /// <summary>The conf file's passphrase encrypts an unattended capture and opens the image for an unattended restore,
    /// which gives back the source byte for byte; a wrong one fails the restore with the target untouched. It is in no
    /// output, results file or log, and nowhere in the image.</summary>
    [SkippableFact]
    public void TheConfFilesPassphraseEncryptsAnUnattendedCaptureAndRestoresIt()
    {
        const string Passphrase = "correct horse battery";
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        ExternalTool.Require("mke2fs", "e2fsprogs");
        string files = Directory.CreateDirectory(_scratch.File("files")).FullName;
        File.WriteAllBytes(Path.Combine(files, "data.bin"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(2_000_000));
        string disk = _scratch.SparseFile("source.img", 32L << 20);
        // Without descriptor checksums a restore gives back the source byte for byte (see EngineJobRunnerTests).
        ExternalTool.Run("mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum,^uninit_bg", "-d", files, disk);
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string image = Path.Combine(store, "enc.lim");
        string backing = _scratch.SparseFile("target.img", 32L << 20);

        ToolResult capture, wrong, restore;
        using (LoopDevice source = LoopDevice.Attach(disk))
        {
            capture = Unattended(binary, CommandLine("boot=live"),
                Conf($"run = capture {source.Path} {image} --encrypt\nafter = shell\npassphrase = {Passphrase}\n"), state: "boot1");
        }
        Assert.True(capture.ExitCode == 0, capture.StandardOutput + capture.StandardError);
        Assert.True(LiveImager.Engine.Imaging.ImageCatalog.IsEncrypted(image), "the capture is encrypted");
        string before;
        using (LoopDevice target = LoopDevice.Attach(backing))
        {
            before = Sha256(target.Path);
            wrong = Unattended(binary, CommandLine("boot=live"),
                Conf($"run = restore {image} {target.Path} --yes\nafter = shell\npassphrase = wrong horse\n"), state: "boot2");
            Assert.Equal(before, Sha256(target.Path));
            restore = Unattended(binary, CommandLine("boot=live"),
                Conf($"run = restore {image} {target.Path} --yes\nafter = shell\npassphrase = {Passphrase}\n"), state: "boot3");
        }
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("the passphrase is not this image's", wrong.StandardOutput + wrong.StandardError);
        Assert.True(restore.ExitCode == 0, restore.StandardOutput + restore.StandardError);
        Assert.Equal(Sha256(disk), Sha256(backing));

        // The results files and logs on the store, the console, the log directory and the image never hold it.
        byte[] secret = System.Text.Encoding.UTF8.GetBytes(Passphrase);
        string[] written = [.. Directory.GetFiles(store, "*", SearchOption.AllDirectories), .. Directory.GetFiles(_scratch.File("log"), "*", SearchOption.AllDirectories)];
        Assert.True(written.Length > 3, string.Join(", ", written));
        foreach (string file in written)
        {
            Assert.True(File.ReadAllBytes(file).AsSpan().IndexOf(secret) < 0, $"{file} holds the passphrase");
        }
        foreach (ToolResult run in new[] { capture, wrong, restore })
        {
            Assert.DoesNotContain(Passphrase, run.StandardOutput + run.StandardError, StringComparison.Ordinal);
        }
    }

    private ToolResult Unattended(string binary, string cmdline, string? conf, string state) =>
        ExternalTool.RunUnchecked(binary, null, "unattended", "--cmdline", cmdline, "--conf", conf ?? _scratch.File("absent.conf"),
            "--state-dir", _scratch.File(state), "--no-power");

    private string CommandLine(string text)
    {
        string path = _scratch.File($"cmdline-{Guid.NewGuid():N}");
        File.WriteAllText(path, text + "\n");
        return path;
    }

    private string Conf(string text)
    {
        string path = _scratch.File($"liveimager-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, text);
        return path;
    }

    private static JsonDocument Result(string store, string verb) =>
        JsonDocument.Parse(File.ReadAllText(Assert.Single(Directory.GetFiles(Path.Combine(store, "liveimager-results"), $"*-{verb}.json"))));

    private static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
    }
}
