using System.Diagnostics;
using LiveImager.Engine.Tests.Support;
using LiveImager.Engine.Tests.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>s3:// stores through the published binary against a real S3 server on 127.0.0.1 (<see cref="S3ServerFixture"/>):
/// the demo's disk there and back, listings, logins refused in plain words, and uploads cut by a dead server or Ctrl-C
/// that leave no image behind.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class S3StoreTests(S3ServerFixture server) : IClassFixture<S3ServerFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>The demo's disk (GPT: FAT32, ext4, NTFS, swap) captured from a loop device into the bucket, listed,
    /// verified and restored from it onto another loop device, and judged by scripts/check-test-disk.sh (each
    /// filesystem's own checker, every file's sha256). The secret is in no process's command line while it runs and in
    /// no log or output afterwards.</summary>
    [SkippableFact]
    public void DemoDiskRoundTripsThroughABucket()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        LoopDevice.RequireRoot();
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mcopy", "mtools");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) to fill the NTFS partition through ntfs-3g");
        string scripts = Path.GetDirectoryName(RepositoryScripts.Path("make-test-disk.sh"))!;
        string disk = _scratch.File("disk.img");
        ExternalTool.Run("bash", Path.Combine(scripts, "make-test-disk.sh"), disk, "160M");
        string target = _scratch.SparseFile("restored.img", new FileInfo(disk).Length);
        string image = server.Url("office/pc-01.lim");
        var outputs = new List<string>();
        var commandLines = new List<string>();

        using (LoopDevice source = LoopDevice.Attach(disk))
        {
            using Running capture = Start(binary, ["capture", source.Path, image]);
            while (!capture.HasExited)
            {
                commandLines.AddRange(AllCommandLines());
                Thread.Sleep(100);
            }
            outputs.Add(Finish(capture, 0));
        }
        outputs.Add(RunTool(binary, 0, "images", server.Url("office")));
        outputs.Add(RunTool(binary, 0, "info", image));
        outputs.Add(RunTool(binary, 0, "verify", image));
        using (LoopDevice restored = LoopDevice.Attach(target))
        {
            outputs.Add(RunTool(binary, 0, "restore", image, restored.Path, "--yes"));
        }
        ToolResult check = ExternalTool.RunUnchecked("bash", null, Path.Combine(scripts, "check-test-disk.sh"), target, disk + ".manifest");
        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        OpenInPlace(binary, image, disk, target, outputs);

        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        Assert.Contains("all checks passed", check.StandardOutput);
        Assert.Equal(["pc-01.lim"], server.Objects("office"));
        Assert.Contains("pc-01.lim", outputs[1]);
        Assert.Contains("complete", outputs[1]);
        Assert.Contains("Complete:   yes", outputs[2]);
        Assert.NotEmpty(commandLines);
        Assert.Contains(commandLines, line => line.Contains(server.AccessKey, StringComparison.Ordinal));
        Assert.DoesNotContain(commandLines, line => line.Contains(server.Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(outputs, output => output.Contains(server.Secret, StringComparison.Ordinal));
        AssertLogsHoldNoSecret();
    }

    /// <summary>The image in the bucket opened in place, as a file is: <c>serve</c> (nbdinfo lists the exports, nbdcopy
    /// of the disk equals the restored disk), <c>export</c> to qcow2 (qemu-img compare with the restored disk) and
    /// <c>mount</c> (every file of the ext4 partition with its sha256 from the manifest). While mounted, the secret is
    /// in the environment of the binary's own server only, never of nbdfuse or any other process.</summary>
    private void OpenInPlace(string binary, string image, string disk, string restored, List<string> outputs)
    {
        ExternalTool.Require("nbdinfo", "libnbd-bin");
        ExternalTool.Require("qemu-img", "qemu-utils");
        ExternalTool.Require("nbdfuse", "nbdfuse");
        string socket = _scratch.File("nbd.sock");
        using (Running serve = Start(binary, ["serve", image, "--socket", socket]))
        {
            try
            {
                var clock = Stopwatch.StartNew();
                while (!File.Exists(socket))
                {
                    if (serve.HasExited)
                    {
                        Assert.Fail("serve ended: " + serve.Errors.Result);
                    }
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "serve did not create its socket within 60 s");
                    Thread.Sleep(50);
                }
                string uri = $"nbd+unix:///disk?socket={socket}";
                Assert.Contains("export=\"p2\"", ExternalTool.Run("nbdinfo", "--list", $"nbd+unix:///?socket={socket}"));
                string copy = _scratch.File("served.img");
                ExternalTool.Run("nbdcopy", uri, copy);
                Assert.True(File.ReadAllBytes(copy).AsSpan().SequenceEqual(File.ReadAllBytes(restored)), "nbdcopy of the served disk differs from the restore");
                File.Delete(copy);
            }
            finally
            {
                serve.Process.Kill(entireProcessTree: true);
                serve.Process.WaitForExit();
            }
        }
        string exported = _scratch.File("exported.qcow2");
        outputs.Add(RunTool(binary, 0, "export", image, exported, "--format", "qcow2"));
        Assert.Contains("Images are identical", ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", restored, exported));
        File.Delete(exported);

        string directory = _scratch.File("mnt");
        var holders = new List<string>();
        try
        {
            outputs.Add(RunTool(binary, 0, "mount", image, directory));
            string sums = Path.Combine(disk + ".manifest", "p2.ext4.sha256");
            ToolResult sha = ExternalTool.RunUnchecked("bash", null, "-c", $"cd {directory}/p2 && sha256sum --quiet --strict -c {sums}");
            Assert.True(sha.ExitCode == 0, sha.StandardOutput + sha.StandardError);
            // The test server itself was given the secret (S3_TEST_SECRET) to check signatures with.
            holders.AddRange(ProcessesHolding(server.Secret).Where(line => !line.Contains("s3-server/serve.js", StringComparison.Ordinal)));
        }
        finally
        {
            outputs.Add(RunTool(binary, 0, "umount", directory));
        }
        Assert.NotEmpty(holders);
        Assert.All(holders, line => Assert.Contains(" serve s3://", line));
    }

    /// <summary>The command lines of the processes whose environment holds <paramref name="secret"/>.</summary>
    private static IEnumerable<string> ProcessesHolding(string secret)
    {
        foreach (string directory in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string environment, commandLine;
            try
            {
                environment = File.ReadAllText(Path.Combine(directory, "environ"));
                commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (environment.Contains(secret, StringComparison.Ordinal))
            {
                yield return commandLine;
            }
        }
    }

    /// <summary>Temporary credentials: with <c>AWS_SESSION_TOKEN</c> set, every request carries the token in a signed
    /// <c>x-amz-security-token</c> header. This server verifies the signature over the signed headers it is told of
    /// (so a token left out of the signature, or signed wrong, fails) though it does not check the token itself.</summary>
    [SkippableFact]
    public void ASessionTokenIsSentSignedAndAccepted()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string disk = SmallExt4("small.img");
        string token = "token-" + Guid.NewGuid().ToString("N");

        string captured = RunTool(binary, 0, ["capture", disk, server.Url("token/pc.lim")], token);
        string listed = RunTool(binary, 0, ["images", server.Url("token")], token);

        Assert.Contains("pc.lim", listed);
        Assert.Equal(["pc.lim"], server.Objects("token"));
        Assert.DoesNotContain(token, captured + listed + Logs());
    }

    /// <summary>The unattended mode with an s3:// image: the job's login from liveimager.conf, and its results JSON and
    /// a copy of its log put as objects under <c>liveimager-results/</c> in the bucket, holding no secret.</summary>
    [SkippableFact]
    public void AnUnattendedCaptureWritesItsImageAndResultsToTheBucket()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string disk = SmallExt4("unattended.img");
        string cmdline = _scratch.File("cmdline");
        File.WriteAllText(cmdline, $"boot=live liveimager.run=\"capture {disk} {server.Url("room/pc.lim")}\"\n");
        string conf = _scratch.File("liveimager.conf");
        File.WriteAllText(conf, $"after = shell\npassword = {server.Secret}\n");
        var info = new ProcessStartInfo(binary, ["unattended", "--cmdline", cmdline, "--conf", conf, "--state-dir", _scratch.File("state"), "--no-power"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["LIVEIMAGER_LOG_DIR"] = _scratch.File("log");
        info.Environment.Remove("LIVEIMAGER_PASSWORD");
        using Process process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();

        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("results in s3://", output);
        Assert.Equal(["pc.lim"], server.Objects("room"));
        IReadOnlyList<string> results = server.Objects("room/liveimager-results");
        string json = File.ReadAllText(ObjectFile("room/liveimager-results/" + Assert.Single(results, r => r.EndsWith("-capture.json", StringComparison.Ordinal))));
        using var result = System.Text.Json.JsonDocument.Parse(json);
        Assert.True(result.RootElement.GetProperty("ok").GetBoolean());
        string log = File.ReadAllText(ObjectFile("room/liveimager-results/" + result.RootElement.GetProperty("log").GetString()));
        Assert.Contains("room/pc.lim", log);
        Assert.DoesNotContain(server.Secret, json + log + output);
    }

    /// <summary>A 16 MiB file holding an empty ext4 filesystem, a disk to capture.</summary>
    private string SmallExt4(string name)
    {
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string disk = _scratch.SparseFile(name, 16L << 20);
        ExternalTool.Run("mkfs.ext4", "-q", disk);
        return disk;
    }

    /// <summary>Where the server keeps the object <paramref name="key"/>'s bytes.</summary>
    private string ObjectFile(string key) => Path.Combine(server.DataDirectory, S3ServerFixture.Bucket, key + "._S3rver_object");

    /// <summary>A wrong secret, an unknown access key, a missing bucket and a server that is not there are each named
    /// in plain words, with exit code 1, before the disk is read; a missing image, <c>--split</c> and HTTPS to a plain-HTTP server too; nothing is
    /// created in the bucket.</summary>
    [SkippableFact]
    public void RefusedLoginsMissingBucketAndDeadEndpointAreSaidPlainly()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string disk = _scratch.SparseFile("blank.img", 8L << 20);
        string wrong = _scratch.File("wrong-secret");
        File.WriteAllText(wrong, "not-the-secret\n");

        string wrongSecret = RunTool(binary, 1, "capture", disk, server.Url("refused/a.lim"), "--password-file", wrong);
        string unknownKey = RunTool(binary, 1, "images", server.Url("refused").Replace(server.AccessKey, "nobody", StringComparison.Ordinal));
        string noBucket = RunTool(binary, 1, "images", server.Url("refused", bucket: "no-such-bucket"));
        string deadPort = RunTool(binary, 1, "images", server.Url("refused").Replace($":{server.Port}/", $":{FreePort()}/", StringComparison.Ordinal));
        string noImage = RunTool(binary, 1, "info", server.Url("refused/missing.lim"));
        string split = RunTool(binary, 1, "capture", disk, server.Url("refused/split.lim"), "--split", "4M");
        string plainServer = RunTool(binary, 1, "images", server.Url("refused").Replace("?tls=0", "", StringComparison.Ordinal));

        Assert.Contains($"wrong secret key for access key {server.AccessKey}", wrongSecret);
        Assert.Contains("the server does not know the access key nobody", unknownKey);
        Assert.Contains("there is no bucket 'no-such-bucket' on 127.0.0.1", noBucket);
        Assert.Contains("cannot reach 127.0.0.1 on port", deadPort);
        Assert.Contains("does not exist", noImage);
        Assert.Contains("--split does not apply to an s3:// store", split);
        Assert.Contains("the TLS handshake with 127.0.0.1", plainServer);
        Assert.Contains("add ?tls=0 to the URL", plainServer);
        Assert.Empty(server.Objects("refused"));
    }

    /// <summary>Over HTTPS the server's certificate is checked: one from a lab's own CA is refused with a hint, trusted
    /// with <c>--ca-file</c> of that CA, and refused with another CA's file.</summary>
    [SkippableFact]
    public void ALabCaIsTrustedOnlyThroughCaFile()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        ExternalTool.Require("openssl", "openssl");
        string labCa = MakeCa("lab");
        string otherCa = MakeCa("other");
        string key = _scratch.File("server.key");
        string request = _scratch.File("server.csr");
        string certificate = _scratch.File("server.pem");
        string extensions = _scratch.File("server.ext");
        File.WriteAllText(extensions, "subjectAltName=IP:127.0.0.1\n");
        ExternalTool.Run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-subj", "/CN=127.0.0.1", "-out", request);
        ExternalTool.Run("openssl", "x509", "-req", "-in", request, "-CA", labCa + ".pem", "-CAkey", labCa + ".key", "-CAcreateserial",
            "-days", "2", "-extfile", extensions, "-out", certificate);
        string listing = server.Url("tls").Replace("?tls=0", "", StringComparison.Ordinal);
        string untrusted, trusted, wrongCa;
        server.Start((key, certificate));
        try
        {
            untrusted = RunTool(binary, 1, "images", listing);
            trusted = RunTool(binary, 0, "images", listing, "--ca-file", labCa + ".pem");
            wrongCa = RunTool(binary, 1, "images", listing, "--ca-file", otherCa + ".pem");
        }
        finally
        {
            server.Start();
        }

        Assert.Contains("the TLS certificate of 127.0.0.1 is not trusted", untrusted);
        Assert.Contains("--ca-file", untrusted);
        Assert.Contains("object store, 0 image(s)", trusted);
        Assert.Contains("the TLS certificate of 127.0.0.1 is not trusted", wrongCa);
    }

    /// <summary>A self-signed CA: NAME.key and NAME.pem in the scratch directory; returns their common stem.</summary>
    private string MakeCa(string name)
    {
        string stem = _scratch.File(name + "-ca");
        ExternalTool.Run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", stem + ".key", "-subj", $"/CN={name} test CA",
            "-days", "2", "-out", stem + ".pem");
        return stem;
    }

    /// <summary>The server dies while parts are being uploaded: the capture fails after its bounded retries saying the
    /// server cannot be reached and that no image was kept, and once the server is back there is no object of that name.</summary>
    [SkippableFact]
    public void CaptureCutByAStoppedServerLeavesNoImage()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string disk = RandomDisk();
        string output;
        using (Running capture = Start(binary, ["capture", disk, server.Url("cut/pc.lim")]))
        {
            try
            {
                WaitForUploadedParts(capture, "cut/pc.lim");
                server.Stop();
                output = Finish(capture, 1);
            }
            finally
            {
                if (!capture.HasExited)
                {
                    capture.Kill();
                }
                server.Start();
            }
        }

        Assert.Contains("cannot reach 127.0.0.1", output);
        Assert.Contains("no image was kept", output);
        Assert.Empty(server.Objects("cut"));
        string log = Logs();
        Assert.Contains("Aborting the upload", log);
        Assert.Contains("No object was created", log);
    }

    /// <summary>Ctrl-C (SIGINT to the binary) during the upload: exit 130, no object, and the upload aborted (this server
    /// does not implement AbortMultipartUpload, so the log says so and names the parts left to the lifecycle rule).</summary>
    [SkippableFact]
    public void CtrlCDuringTheUploadLeavesNoImage()
    {
        string binary = PublishedBinary.Require();
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string disk = RandomDisk();
        string output;
        using (Running capture = Start(binary, ["capture", disk, server.Url("interrupted/pc.lim")]))
        {
            WaitForUploadedParts(capture, "interrupted/pc.lim");
            ExternalTool.Run("kill", "-INT", capture.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            output = Finish(capture, 130);
        }

        Assert.Contains("cancelled; no image was kept", output);
        Assert.Empty(server.Objects("interrupted"));
        string log = Logs();
        Assert.Contains("interrupted/pc.lim", log);
        Assert.True(log.Contains("aborted; no object was created", StringComparison.Ordinal) || log.Contains("Aborting the upload", StringComparison.Ordinal), log);
    }

    /// <summary>A disk image file of incompressible bytes, large enough that its upload takes several 32 MiB parts.</summary>
    private string RandomDisk()
    {
        string disk = _scratch.File("random.img");
        using (var file = File.Create(disk))
        {
            var block = new byte[1 << 20];
            for (int i = 0; i < 320; i++)
            {
                Random.Shared.NextBytes(block);
                file.Write(block);
            }
        }
        return disk;
    }

    /// <summary>Waits until the server holds a part of the upload of <paramref name="key"/> (under way, not complete).</summary>
    private void WaitForUploadedParts(Running capture, string key)
    {
        string uploads = Path.Combine(server.DataDirectory, S3ServerFixture.Bucket, "._S3rver_uploads");
        var clock = Stopwatch.StartNew();
        // The server keeps each upload in a directory of its own, with its object's key in a file "key" and its parts
        // as files named by part number (1, 2, …) until it is completed. Uploads of other tests may be there too: this
        // server does not implement their abort.
        while (!(Directory.Exists(uploads) && Directory.EnumerateDirectories(uploads).Any(upload =>
            File.Exists(Path.Combine(upload, "1")) && File.Exists(Path.Combine(upload, "key")) && File.ReadAllText(Path.Combine(upload, "key")) == key)))
        {
            if (capture.HasExited)
            {
                Assert.Fail("the capture ended before any part was uploaded: " + capture.Errors.Result);
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), "no part was uploaded within 120 s");
            Thread.Sleep(20);
        }
    }

    /// <summary>Starts the binary with the secret in its environment (as a script would pass it) and its output read
    /// as it comes, so a full pipe never stalls it.</summary>
    private Running Start(string binary, string[] arguments, string? sessionToken = null)
    {
        var info = new ProcessStartInfo(binary, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["LIVEIMAGER_PASSWORD"] = server.Secret;
        if (sessionToken is not null)
        {
            info.Environment["AWS_SESSION_TOKEN"] = sessionToken;
        }
        info.Environment["LIVEIMAGER_LOG_DIR"] = _scratch.File("log");
        Process process = Process.Start(info)!;
        return new Running(process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    /// <summary>Waits for the process; asserts its exit code and returns what it printed, both streams.</summary>
    private static string Finish(Running running, int expectedExit)
    {
        Process process = running.Process;
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)), "the binary did not finish within 5 minutes");
        string text = running.Output.Result + running.Errors.Result;
        Assert.True(process.ExitCode == expectedExit, $"exit {process.ExitCode}, expected {expectedExit}: {text}");
        return text;
    }

    private string RunTool(string binary, int expectedExit, params string[] arguments) => RunTool(binary, expectedExit, arguments, null);

    private string RunTool(string binary, int expectedExit, string[] arguments, string? sessionToken)
    {
        using Running running = Start(binary, arguments, sessionToken);
        return Finish(running, expectedExit);
    }

    private sealed record Running(Process Process, Task<string> Output, Task<string> Errors) : IDisposable
    {
        public bool HasExited => Process.HasExited;

        public int Id => Process.Id;

        public void Kill() => Process.Kill();

        public void Dispose() => Process.Dispose();
    }

    private static IEnumerable<string> AllCommandLines()
    {
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(directory, "cmdline"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (text.Length > 0)
            {
                yield return text.Replace('\0', ' ');
            }
        }
    }

    private string Logs()
    {
        string directory = _scratch.File("log");
        return Directory.Exists(directory)
            ? string.Join("\n", Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Select(File.ReadAllText))
            : "";
    }

    private void AssertLogsHoldNoSecret()
    {
        string logs = Logs();
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(server.Secret, logs, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
