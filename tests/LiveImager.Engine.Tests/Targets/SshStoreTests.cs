using System.Text;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Engine.Tests.Imaging;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>ssh:// stores for real: sshfs against the fixture's sshd on 127.0.0.1.</summary>
[Collection(SshServerCollection.Name)]
public sealed class SshStoreTests(SshServerFixture server) : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private StoreOptions Options(string? password = null, string? key = null) => new()
    {
        RuntimeRoot = _scratch.File("run"),
        Credentials = new StoreCredentials(password, key),
    };

    [SkippableFact]
    public void CaptureToSshAndRestoreFromIt()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string remote = server.NewDirectory();
        string url = server.Url(remote + "/pc.lim");
        StoreOptions options = Options(server.Password);
        var leaks = new List<string>();
        using var watching = new CancellationTokenSource();
        Task watcher = Task.Run(() => WatchCommandLines(server.Password, leaks, watching.Token));

        CaptureResult captured;
        using (StoreImage target = StoreImage.Open(url, options, forWriting: true))
        {
            captured = new CaptureJob(new CaptureOptions(disk.Path, target.Path)).Run(CancellationToken.None);
            Assert.Single(StoreListing.Of(target.Store!).Images, i => i.Name == "pc.lim" && i.Complete);
        }
        string restored = _scratch.SparseFile("restored.img", 0);
        RestoreResult result;
        using (StoreImage source = StoreImage.Open(url, options, forWriting: false))
        {
            result = new RestoreJob(new RestoreOptions(source.Path, [restored])).Run(CancellationToken.None);
        }
        watching.Cancel();
        watcher.Wait();

        Assert.True(result.Succeeded, result.Targets[0].Message);
        Assert.True(File.Exists(remote + "/pc.lim"));
        Assert.False(File.Exists(remote + "/pc.lim.partial"));
        Assert.Equal(captured.ImageBytes, new FileInfo(remote + "/pc.lim").Length);
        disk.AssertRestored(restored, _scratch);
        Assert.Empty(leaks);
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
        Assert.DoesNotContain(options.MountRoot, File.ReadAllText("/proc/mounts"));
    }

    /// <summary>A Clonezilla image directory on an ssh:// store is listed beside our images, marked, and restores
    /// from the store as a local one does (docs/clonezilla.md).</summary>
    [SkippableFact]
    public void AClonezillaImageOnTheStoreIsListedAndRestores()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        ExternalTool.Require("partclone.extfs", "partclone");
        ExternalTool.Require("zstd", "zstd");
        // Not TestDisk: partclone.fat 0.3.23 leaves used clusters of its FAT12 out of the bitmap (its own restore loses
        // them too), so a Clonezilla image of it cannot give the files back.
        ClonezillaRestoreTests.MbrDisk disk = ClonezillaRestoreTests.MbrDisk.Create(_scratch);
        string remote = server.NewDirectory();
        ExternalTool.Run("bash", RepositoryScripts.Path("make-clonezilla-image.sh"), disk.Path, remote + "/2026-12-07-pc-img");
        StoreOptions options = Options(server.Password);
        string restored = _scratch.SparseFile("restored.img", 0);

        RestoreResult result;
        using (StoreImage source = StoreImage.Open(server.Url(remote + "/2026-12-07-pc-img"), options, forWriting: false))
        {
            StoredImage listed = Assert.Single(StoreListing.Of(source.Store!).Images);
            Assert.Equal(("2026-12-07-pc-img", "clonezilla", true), (listed.Name, listed.Format, listed.Restorable));
            Assert.True(ClonezillaInput.IsClonezillaDirectory(source.Path));
            result = new ClonezillaRestoreJob(new RestoreOptions(source.Path, [restored])).Run(CancellationToken.None);
        }

        Assert.True(result.Succeeded, result.Targets[0].Message);
        disk.AssertRestored(restored, _scratch);
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
        Assert.DoesNotContain(options.MountRoot, File.ReadAllText("/proc/mounts"));
    }

    [SkippableFact]
    public void AKeyLogsInWithoutAPassword()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string remote = server.NewDirectory();
        File.WriteAllText(remote + "/not-an-image.txt", "hello");
        StoreOptions options = Options(key: server.KeyFile);

        using MountedStore store = new StoreMounter(options).Mount(StoreLocation.Parse(server.Url(remote)));
        StoreListing listing = StoreListing.Of(store);

        Assert.Empty(listing.Images);
        Assert.True(listing.FreeBytes > 0);
        Assert.Equal(server.Url(remote), listing.Location);
        // Not pinned: the key trusted on first use is reported, as ssh-keygen -lf names it.
        Assert.Equal(server.HostKeyFingerprint, store.HostKey);
        Assert.False(store.HostKeyPinned);
        Assert.Equal(server.HostKeyFingerprint, listing.HostKey);
    }

    [SkippableFact]
    public void APinnedHostKeyThatMatchesLogsIn()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string remote = server.NewDirectory();
        StoreOptions options = Options(server.Password);

        using (MountedStore store = new StoreMounter(options).Mount(StoreLocation.Parse($"{server.Url(remote)}?hostkey={server.HostKeyFingerprint}")))
        {
            File.WriteAllText(store.PathOf("written.txt"), "through a pinned connection");
            Assert.Equal(server.HostKeyFingerprint, store.HostKey);
            Assert.True(store.HostKeyPinned);
            Assert.Equal(server.Url(remote), store.Location.ToString());
        }

        Assert.Equal("through a pinned connection", File.ReadAllText(remote + "/written.txt"));
        // The pinned key was the only known host, for that one connection; the trust-on-first-use file stays untouched.
        Assert.Empty(Directory.GetFiles(options.RuntimeRoot, "ssh_known_hosts*"));
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
    }

    [SkippableFact]
    public void AWrongPinnedHostKeyIsRefusedBeforeAnyLogin()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string otherKey = _scratch.File("other_key");
        ExternalTool.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey);
        string wrong = ExternalTool.Run("ssh-keygen", "-l", "-f", otherKey + ".pub").Split(' ')[1];
        var ran = new List<string>();
        StoreOptions options = Options(server.Password) with
        {
            Run = command => { ran.Add(command.Tool); return StoreTools.Run(command); },
        };
        int logBefore = server.LogText.Length;

        var e = Assert.Throws<StoreException>(() => StoreImage.Open($"{server.Url(server.NewDirectory())}/pc.lim?hostkey={wrong}", options, forWriting: true));

        Assert.Equal(StoreProblem.LoginRefused, e.Problem);
        Assert.StartsWith($"the SSH host key of 127.0.0.1 is {server.HostKeyFingerprint}, expected {wrong}: refusing to log in", e.Message);
        Assert.DoesNotContain(server.Password, e.Message);
        // Only the key scan reached the server: no sshfs, and sshd logged its connection but no login of the user, failed or not.
        Assert.Equal(["ssh-keyscan"], ran);
        string logged = server.LogText[logBefore..];
        Assert.Contains("127.0.0.1", logged);
        Assert.DoesNotContain(SshServerFixture.User, logged);
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
    }

    [SkippableFact]
    public void AWrongPasswordIsTheLoginError()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        StoreOptions options = Options("not-" + server.Password);

        var e = Assert.Throws<StoreException>(() => StoreImage.Open(server.Url(server.NewDirectory() + "/x.lim"), options, forWriting: true));

        Assert.Equal(StoreProblem.LoginRefused, e.Problem);
        Assert.StartsWith($"127.0.0.1 refused the login as {SshServerFixture.User}: wrong user name, password or key", e.Message);
        Assert.DoesNotContain(server.Password, e.Message);
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
    }

    [SkippableFact]
    public void AReadOnlyDirectoryIsThePermissionError()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        StoreOptions options = Options(server.Password);

        var e = Assert.Throws<StoreException>(() => StoreImage.Open(server.Url(server.NewDirectory(writable: false) + "/x.lim"), options, forWriting: true));

        Assert.Equal(StoreProblem.PermissionDenied, e.Problem);
        Assert.StartsWith($"permission denied: this login ({SshServerFixture.User}) may not write to ssh://", e.Message);
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
    }

    [SkippableFact]
    public void AMissingDirectoryIsNotFound()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);

        var e = Assert.Throws<StoreException>(() => new StoreMounter(Options(server.Password)).Mount(StoreLocation.Parse(server.Url("/no/such/dir"))));

        Assert.Equal(StoreProblem.NotFound, e.Problem);
        Assert.Contains("/no/such/dir does not exist on 127.0.0.1", e.Message);
    }

    [SkippableFact]
    public void AClosedPortIsHostUnreachable()
    {
        ExternalTool.Require("sshfs", "sshfs");
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        var e = Assert.Throws<StoreException>(() => new StoreMounter(Options("x")).Mount(StoreLocation.Parse($"ssh://u@127.0.0.1:{port}/srv")));

        Assert.Equal(StoreProblem.HostUnreachable, e.Problem);
        Assert.StartsWith($"cannot reach 127.0.0.1 on port {port}: Connection refused", e.Message);
    }

    [SkippableFact]
    public void AStoreVanishingMidJobFailsTheJobCleanly()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        TestDisk disk = TestDisk.Create(_scratch, "gpt");
        string remote = server.NewDirectory();
        StoreOptions options = Options(server.Password);

        using (StoreImage target = StoreImage.Open(server.Url(remote + "/pc.lim"), options, forWriting: true))
        {
            var job = new CaptureJob(new CaptureOptions(disk.Path, target.Path, Level: 19));
            int killed = 0;
            job.Progress += _ =>
            {
                if (Interlocked.Exchange(ref killed, 1) == 0)
                {
                    // What a pulled network cable looks like to the job: the sshfs daemon serving the mount is gone.
                    KillProcessesNaming(target.Store!.MountPoint!);
                }
            };

            var e = Assert.Throws<ImagingException>(() => job.Run(CancellationToken.None));

            Assert.StartsWith($"writing the image {target.Path} failed: Transport endpoint is not connected", e.Message);
            Assert.EndsWith("no image was kept", e.Message);
            // What the CLI and the TUI show names the store, not the mount point under the runtime directory.
            string shown = ImagingFailure.Explain(e)!;
            Assert.StartsWith($"writing the image {server.Url(remote + "/pc.lim")} failed: Transport endpoint is not connected", shown);
            Assert.DoesNotContain(options.MountRoot, shown);
            Assert.DoesNotContain(server.Password, shown);
        }

        Assert.False(File.Exists(remote + "/pc.lim"));
        // The server keeps what it received under the unfinished name, which nothing takes for an image.
        Assert.DoesNotContain(ImageCatalog.List(remote), i => i.Complete);
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
        Assert.DoesNotContain(options.MountRoot, File.ReadAllText("/proc/mounts"));
    }

    /// <summary>Kills, by process id, the processes whose argument list names <paramref name="text"/> (here: one mount point).</summary>
    private static void KillProcessesNaming(string text)
    {
        byte[] needle = Encoding.UTF8.GetBytes(text);
        foreach (string process in Directory.GetDirectories("/proc").Where(d => char.IsAsciiDigit(Path.GetFileName(d)[0])))
        {
            try
            {
                if (File.ReadAllBytes(Path.Combine(process, "cmdline")).AsSpan().IndexOf(needle) >= 0)
                {
                    using var victim = System.Diagnostics.Process.GetProcessById(int.Parse(Path.GetFileName(process)));
                    victim.Kill();
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException)
            {
                // The process ended between the listing and the read.
            }
        }
    }

    /// <summary>Reads every process's argument list until cancelled, recording any that holds <paramref name="secret"/>.</summary>
    private static void WatchCommandLines(string secret, List<string> leaks, CancellationToken token)
    {
        byte[] needle = Encoding.UTF8.GetBytes(secret);
        while (!token.IsCancellationRequested)
        {
            foreach (string process in Directory.GetDirectories("/proc").Where(d => char.IsAsciiDigit(Path.GetFileName(d)[0])))
            {
                try
                {
                    byte[] commandLine = File.ReadAllBytes(Path.Combine(process, "cmdline"));
                    if (commandLine.AsSpan().IndexOf(needle) >= 0)
                    {
                        leaks.Add(Encoding.UTF8.GetString(commandLine).Replace('\0', ' '));
                    }
                }
                catch (IOException)
                {
                    // The process ended between the listing and the read.
                }
            }
            Thread.Sleep(20);
        }
    }
}
