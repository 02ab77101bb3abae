using System.Diagnostics;
using System.Security.Cryptography;
using LiveImager.Engine.Opening;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>Issue 15: <c>mount</c> of an encrypted image hands the passphrase to its server child on an inherited pipe
/// (never argv or environment) and the files read back whole; a process holding a passphrase is not dumpable.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class EncryptedMountTests : IDisposable
{
    private const string Passphrase = "Mount-Passphrase-Of-Issue-15";
    private const int Nobody = 65534;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void AnEncryptedExt4ImageMountsWithItsPassphraseOnAPipeAndItsFilesReadBack()
    {
        string binary = PublishedBinary.Require();
        Skip.IfNot(Environment.IsPrivilegedProcess, "mount needs root (loop devices, mounts)");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse)");
        (string image, string passphraseFile, string expected) = EncryptedExt4Image();
        string directory = _scratch.File("mnt");
        try
        {
            ToolResult refused = ExternalTool.RunUnchecked(binary, null, "mount", image, directory);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("encrypted", refused.StandardError);
            Assert.False(ImageMount.IsMounted(directory));

            string mounted = ExternalTool.Run(binary, "mount", image, directory, "--passphrase-file", passphraseFile);
            Assert.Contains($"p1 ext4 \"ENC-15\": {directory}/p1 (kernel ext4)", mounted);
            Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(directory, "p1", "secret.bin")))));

            // The server left running for the mount: the passphrase is in neither its arguments nor its environment.
            string work = ImageMount.WorkDirectory(Path.GetFullPath(directory));
            string[] servers = [.. Directory.EnumerateDirectories("/proc").Select(Path.GetFileName)
                .Where(pid => pid!.All(char.IsAsciiDigit) && Read($"/proc/{pid}/cmdline").Contains(work + "/nbd.sock", StringComparison.Ordinal))!];
            Assert.NotEmpty(servers);
            foreach (string pid in servers)
            {
                Assert.DoesNotContain(Passphrase, Read($"/proc/{pid}/cmdline"));
                Assert.DoesNotContain(Passphrase, Read($"/proc/{pid}/environ"));
            }
        }
        finally
        {
            ExternalTool.RunUnchecked(binary, null, "umount", directory);
        }
        Assert.DoesNotContain(directory, File.ReadAllText("/proc/self/mountinfo"));
        Assert.False(ImageMount.IsMounted(directory));
    }

    /// <summary>Run as an unprivileged user, a process's /proc files belong to root once it is not dumpable
    /// (PR_SET_DUMPABLE 0), and to the user otherwise: so a serve with a passphrase is seen to forbid core dumps.</summary>
    [SkippableFact]
    public void AServerHoldingAPassphraseIsNotDumpable()
    {
        string binary = PublishedBinary.Require();
        Skip.IfNot(Environment.IsPrivilegedProcess, "needs root to run the binary as another user");
        ExternalTool.Require("setpriv", "util-linux");
        (string image, string passphraseFile, _) = EncryptedExt4Image();
        string shared = _scratch.File("shared");
        Directory.CreateDirectory(shared);
        // The unprivileged server reads the image and the passphrase file and writes its socket and log in "shared".
        ExternalTool.Run("chmod", "755", _scratch.Path);
        ExternalTool.Run("chmod", "777", shared);
        ExternalTool.Run("chmod", "644", image, passphraseFile);
        string socket = Path.Combine(shared, "nbd.sock");
        using Process control = AsNobody(["/bin/sleep", "60"], shared);
        using Process server = AsNobody([binary, "serve", image, "--socket", socket, "--passphrase-file", passphraseFile], shared);
        Task<string> errors = server.StandardError.ReadToEndAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(socket))
            {
                if (server.HasExited)
                {
                    Assert.Fail($"serve exited with {server.ExitCode}: {errors.Result}");
                }
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "serve did not create its socket within 60 s");
                Thread.Sleep(50);
            }
            Assert.Equal(Nobody.ToString(System.Globalization.CultureInfo.InvariantCulture), Owner(control.Id));
            Assert.Equal("0", Owner(server.Id));
        }
        finally
        {
            foreach (Process process in (Process[])[server, control])
            {
                if (!process.HasExited)
                {
                    process.Kill();
                    process.WaitForExit();
                }
            }
        }
    }

    /// <summary>A 64 MiB GPT disk with one ext4 partition holding a 3 MiB random file, captured with --encrypt.</summary>
    private (string Image, string PassphraseFile, string Sha256) EncryptedExt4Image()
    {
        string binary = PublishedBinary.Require();
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string content = _scratch.File("content");
        Directory.CreateDirectory(content);
        byte[] secret = RandomNumberGenerator.GetBytes(3 << 20);
        File.WriteAllBytes(Path.Combine(content, "secret.bin"), secret);
        string disk = _scratch.SparseFile("disk.img", 64L << 20);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, size=122880, type=L\n", "-q", disk);
        ExternalTool.Run("mkfs.ext4", "-q", "-L", "ENC-15", "-E", "offset=1048576", "-d", content, disk, "60M");
        string passphraseFile = _scratch.File("passphrase");
        File.WriteAllText(passphraseFile, Passphrase + "\n");
        string image = _scratch.File("disk.lim");
        ExternalTool.Run(binary, "capture", disk, image, "--encrypt", "--passphrase-file", passphraseFile);
        return (image, passphraseFile, Convert.ToHexStringLower(SHA256.HashData(secret)));
    }

    private static Process AsNobody(string[] command, string shared)
    {
        var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups", "--", .. command])
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["LIVEIMAGER_LOG_DIR"] = Path.Combine(shared, "log");
        info.Environment["HOME"] = shared;
        return Process.Start(info)!;
    }

    private static string Owner(int pid) => ExternalTool.Run("stat", "-c", "%u", $"/proc/{pid}/status").Trim();

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Replace('\0', ' ');
        }
        catch (IOException)
        {
            return string.Empty;
        }
        catch (UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
