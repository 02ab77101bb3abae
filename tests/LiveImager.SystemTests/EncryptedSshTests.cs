using System.Diagnostics;
using LiveImager.Engine.Tests.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>Issue 15: during an encrypted capture to an ssh:// store, the passphrase is in no process's argument list,
/// in no child's environment (sshfs, ssh), and afterwards in no log or output; the image then verifies with it.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class EncryptedSshTests(SshServerFixture server) : IClassFixture<SshServerFixture>, IDisposable
{
    private const string Passphrase = "Passphrase-Of-Issue-15";
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void ThePassphraseReachesNoChildNoArgumentListAndNoLog()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string disk = _scratch.SparseFile("ext4.img", 32L << 20);
        ExternalTool.Run("mkfs.ext4", "-q", "-L", "LABEL-OF-ISSUE-15", disk);
        string remote = server.NewDirectory();
        string logDirectory = _scratch.File("log");
        var start = new ProcessStartInfo(binary, ["capture", disk, server.Url(remote + "/enc.lim"), "--encrypt"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment["LIVEIMAGER_LOG_DIR"] = logDirectory;
        start.Environment["LIVEIMAGER_PASSWORD"] = server.Password;
        start.Environment["LIVEIMAGER_PASSPHRASE"] = Passphrase;
        using var process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        var seen = new List<string>();
        int children = 0;
        while (!process.HasExited)
        {
            foreach (string pid in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit))!)
            {
                string cmdline = Read($"/proc/{pid}/cmdline");
                if (cmdline.Contains(Passphrase, StringComparison.Ordinal))
                {
                    seen.Add($"cmdline of {pid}: {cmdline}");
                }
                // The binary holds the variable it was given; its children must not inherit it. A child still showing the
                // binary's own command line is a fork before its exec, which still has the parent's memory.
                if (pid != process.Id.ToString() && !cmdline.StartsWith(binary, StringComparison.Ordinal)
                    && Read($"/proc/{pid}/status").Contains($"PPid:\t{process.Id}\n", StringComparison.Ordinal))
                {
                    children++;
                    if (Read($"/proc/{pid}/environ").Contains(Passphrase, StringComparison.Ordinal))
                    {
                        seen.Add($"environment of child {pid}: {cmdline}");
                    }
                }
            }
            Thread.Sleep(20);
        }
        process.WaitForExit();
        string said = output.Result + error.Result;

        Assert.True(process.ExitCode == 0, said);
        Assert.Empty(seen);
        Assert.True(children > 0, "no child (sshfs) was seen during the capture");
        string logs = string.Concat(Directory.GetFiles(logDirectory, "*", SearchOption.AllDirectories).Select(File.ReadAllText));
        Assert.DoesNotContain(Passphrase, logs + said);
        byte[] image = File.ReadAllBytes(Path.Combine(remote, "enc.lim"));
        Assert.True(image.AsSpan().IndexOf("LABEL-OF-ISSUE-15"u8) < 0);

        string file = _scratch.File("passphrase");
        File.WriteAllText(file, Passphrase + "\n");
        var verify = new ProcessStartInfo(binary, ["verify", Path.Combine(remote, "enc.lim"), "--passphrase-file", file]) { RedirectStandardOutput = true, RedirectStandardError = true };
        verify.Environment.Remove("LIVEIMAGER_PASSPHRASE");
        using var check = Process.Start(verify)!;
        string verified = check.StandardOutput.ReadToEnd() + check.StandardError.ReadToEnd();
        check.WaitForExit();
        Assert.True(check.ExitCode == 0, verified);
        Assert.Contains("ok:", verified);
    }

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
