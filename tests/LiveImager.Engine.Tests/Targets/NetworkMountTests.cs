using LiveImager.Engine.Targets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>SMB and NFS cannot mount on this kernel (no cifs, no nfs client): these tests run the real code path up to
/// the mount call and check what it would pass, the credential file, the version fallback and the error words. Real
/// round trips belong to the live medium's QEMU test.</summary>
public sealed class NetworkMountTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void ThisKernelWithoutCifsGivesThePlainMessageBeforeAnyMount()
    {
        var calls = new List<MountCommand>();
        var options = new StoreOptions
        {
            RuntimeRoot = _scratch.Path,
            Run = command => { calls.Add(command); return new ToolOutput(1, "modprobe: FATAL: Module cifs not found"); },
        };

        var e = Assert.Throws<StoreException>(() => new StoreMounter(options).Mount(StoreLocation.Parse("smb://anna@nas/backups")));

        Assert.Equal(StoreProblem.Unsupported, e.Problem);
        Assert.StartsWith("this kernel cannot mount SMB shares", e.Message);
        Assert.DoesNotContain(calls, c => c.Tool == "mount");
        Assert.False(Directory.Exists(options.MountRoot) && Directory.EnumerateFileSystemEntries(options.MountRoot).Any());
    }

    [SkippableFact]
    public void ThisKernelWithoutNfsGivesThePlainMessage()
    {
        Skip.If(KernelSupport.Parse(File.ReadAllText("/proc/filesystems")).Contains("nfs"), "this kernel has NFS");
        var options = new StoreOptions { RuntimeRoot = _scratch.Path };

        var e = Assert.Throws<StoreException>(() => new StoreMounter(options).Mount(StoreLocation.Parse("nfs://filer/export")));

        Assert.StartsWith("this kernel cannot mount NFS exports", e.Message);
    }

    [Fact]
    public void ProcFileSystemsIsParsed()
    {
        IReadOnlySet<string> names = KernelSupport.Parse("nodev\tsysfs\n\text4\nnodev\tcifs\n\tvfat\n");

        Assert.Equal(["cifs", "ext4", "sysfs", "vfat"], names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void CifsGetsItsPasswordOnlyThroughA0600FileThatIsRemovedAfterwards()
    {
        string filesystems = _scratch.File("filesystems");
        File.WriteAllText(filesystems, "nodev\tcifs\n");
        var seen = new List<(MountCommand Command, string Content, string Mode)>();
        var probed = new List<string>();
        var options = new StoreOptions
        {
            RuntimeRoot = _scratch.Path,
            Credentials = new StoreCredentials("pa ss,word=1"),
            Kernel = new KernelSupport(filesystems),
            RequireReachable = (host, port) => probed.Add($"{host}:{port}"),
            Run = command =>
            {
                if (command.Tool != "mount")
                {
                    return new ToolOutput(0, "");
                }
                string file = command.Arguments[^1].Split(',')[0]["credentials=".Length..];
                seen.Add((command, File.ReadAllText(file), ExternalTool.Run("stat", "-c", "%a", file).Trim()));
                // What mount.cifs prints when the server does not speak the dialect, then when the login fails.
                return seen.Count < 3
                    ? new ToolOutput(32, "mount error(95): Operation not supported\nRefer to the mount.cifs(8) manual page")
                    : new ToolOutput(32, "mount error(13): Permission denied\nRefer to the mount.cifs(8) manual page");
            },
        };

        var e = Assert.Throws<StoreException>(() => new StoreMounter(options).Mount(StoreLocation.Parse("smb://OFFICE;anna@nas/backups/pc")));

        Assert.Equal(StoreProblem.LoginRefused, e.Problem);
        Assert.StartsWith("nas refused the login as anna: wrong user name, password or key", e.Message);
        Assert.Equal(["nas:445"], probed);
        Assert.Equal(["3.1.1", "3.0", "2.1"], seen.Select(s => s.Command.Arguments[^1].Split(',')[1]["vers=".Length..]));
        Assert.All(seen, s =>
        {
            Assert.Equal("username=anna\npassword=pa ss,word=1\ndomain=OFFICE\n", s.Content);
            Assert.Equal("600", s.Mode);
            Assert.DoesNotContain("pa ss", s.Command.ToString());
            Assert.Equal(["-t", "cifs", "//nas/backups"], s.Command.Arguments.Take(3));
        });
        Assert.Empty(Directory.GetFiles(options.CredentialsRoot));
        Assert.Empty(Directory.GetDirectories(options.MountRoot));
        Assert.DoesNotContain("pa ss", e.Message);
    }

    [Fact]
    public void CifsVersionFromTheUrlIsTheOnlyOneTried()
    {
        MountCommand command = MountArguments.Cifs(StoreLocation.Parse("smb://h/s?vers=2.0"), "/m", null, "2.0");

        Assert.Equal("mount -t cifs //h/s /m -o guest,vers=2.0,uid=0,gid=0,file_mode=0600,dir_mode=0700,nosuid,nodev,noexec", command.ToString());
        Assert.Null(command.StandardInput);
        Assert.Equal(["2.0"], MountArguments.VersionsToTry(StoreLocation.Parse("smb://h/s?vers=2.0")));
    }

    [Fact]
    public void CifsWithAPortPassesItToMountCifs()
    {
        StoreLocation location = StoreLocation.Parse("smb://liveimager@10.0.2.2:4450/images/net");

        MountCommand command = MountArguments.Cifs(location, "/m", "/run/c", "3.1.1");

        Assert.Equal("mount -t cifs //10.0.2.2/images /m -o credentials=/run/c,vers=3.1.1,port=4450,uid=0,gid=0,file_mode=0600,dir_mode=0700," +
            "nosuid,nodev,noexec", command.ToString());
        Assert.Equal(MountArguments.SmbVersions, MountArguments.VersionsToTry(location));
    }

    [Theory]
    [InlineData("nfs://10.0.2.2:20490/images", "4", "mount -t nfs -o vers=4,port=20490,soft,timeo=150,retrans=3,nosuid,nodev,noexec 10.0.2.2:/images /m")]
    [InlineData("nfs://10.0.2.2:2049/images?vers=3", "3", "mount -t nfs -o vers=3,port=2049,soft,timeo=150,retrans=3,nosuid,nodev,noexec 10.0.2.2:/images /m")]
    [InlineData("nfs://[fd00::5]:20490/x?vers=4.2", "4.2", "mount -t nfs -o vers=4.2,port=20490,soft,timeo=150,retrans=3,nosuid,nodev,noexec [fd00::5]:/x /m")]
    public void NfsWithAPortTriesOnlyVersion4UnlessTheUrlSaysOtherwise(string url, string version, string expected)
    {
        StoreLocation location = StoreLocation.Parse(url);

        Assert.Equal([version], MountArguments.VersionsToTry(location));
        Assert.Equal(expected, MountArguments.Nfs(location, "/m", version).ToString());
    }

    [Fact]
    public void NfsTriesVersion4Then3()
    {
        string filesystems = _scratch.File("filesystems");
        File.WriteAllText(filesystems, "nodev\tnfs\nnodev\tnfs4\n");
        var tried = new List<string>();
        var probed = new List<string>();
        var options = new StoreOptions
        {
            RuntimeRoot = _scratch.Path,
            Kernel = new KernelSupport(filesystems),
            RequireReachable = (host, port) => probed.Add($"{host}:{port}"),
            Run = command =>
            {
                tried.Add(command.ToString());
                return new ToolOutput(32, tried.Count == 1
                    ? "mount.nfs: requested NFS version or transport protocol is not supported"
                    : "mount.nfs: access denied by server while mounting filer:/export/img");
            },
        };

        var e = Assert.Throws<StoreException>(() => new StoreMounter(options).Mount(StoreLocation.Parse("nfs://filer/export/img")));

        Assert.Equal(StoreProblem.PermissionDenied, e.Problem);
        Assert.Contains("filer does not export /export/img to this machine", e.Message);
        Assert.Equal(["filer:2049"], probed);
        Assert.Equal(2, tried.Count);
        Assert.StartsWith("mount -t nfs -o vers=4,soft,", tried[0]);
        Assert.EndsWith("filer:/export/img " + Path.Combine(options.MountRoot, Path.GetFileName(tried[0].Split(' ')[^1])), tried[0]);
        Assert.StartsWith("mount -t nfs -o vers=3,soft,", tried[1]);
    }

    [Fact]
    public void AClosedNfsPortIsUnreachableBeforeMountRuns()
    {
        string filesystems = _scratch.File("filesystems");
        File.WriteAllText(filesystems, "nodev\tnfs\nnodev\tnfs4\n");
        var calls = new List<MountCommand>();
        var options = new StoreOptions
        {
            RuntimeRoot = _scratch.Path,
            Kernel = new KernelSupport(filesystems),
            Run = command => { calls.Add(command); return new ToolOutput(0, ""); },
        };
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        var e = Assert.Throws<StoreException>(() => new StoreMounter(options).Mount(StoreLocation.Parse($"nfs://127.0.0.1:{port}/images")));

        Assert.Equal(StoreProblem.HostUnreachable, e.Problem);
        Assert.StartsWith($"cannot reach 127.0.0.1 on port {port}: Connection refused", e.Message);
        Assert.Empty(calls);
        Assert.False(Directory.Exists(options.MountRoot) && Directory.EnumerateFileSystemEntries(options.MountRoot).Any());
    }

    [Theory]
    [InlineData("smb://anna@nas/backups", "mount error(2): No such file or directory", StoreProblem.NotFound, "nas has no share named 'backups'")]
    [InlineData("smb://anna@nas/backups", "mount error(113): could not connect to 10.0.0.9Unable to find suitable address.", StoreProblem.HostUnreachable, "cannot reach nas")]
    [InlineData("smb://anna@nas/backups", "mount error(112): Host is down", StoreProblem.HostUnreachable, "cannot reach nas")]
    [InlineData("smb://anna@nas/backups", "mount error(13): Permission denied", StoreProblem.LoginRefused, "nas refused the login as anna")]
    [InlineData("nfs://filer/x", "mount.nfs: Connection refused", StoreProblem.HostUnreachable, "cannot reach filer")]
    [InlineData("nfs://filer/x", "mount.nfs: mounting filer:/x failed, reason given by server: No such file or directory", StoreProblem.NotFound, "/x does not exist on filer")]
    [InlineData("nfs://filer/x", "mount.nfs: Failed to resolve server filer: Name or service not known", StoreProblem.HostUnreachable, "cannot reach filer")]
    [InlineData("ssh://u@h/x", "u@h: Permission denied (publickey,password).", StoreProblem.LoginRefused, "h refused the login as u")]
    [InlineData("ssh://u@h/x", "ssh: connect to host h port 22: Connection refused\nread: Connection reset by peer", StoreProblem.HostUnreachable, "cannot reach h")]
    [InlineData("ssh://u@h/x", "ssh: Could not resolve hostname h: Name or service not known", StoreProblem.HostUnreachable, "cannot reach h")]
    [InlineData("ssh://u@h/x", "read: Connection reset by peer", StoreProblem.LoginRefused, "h refused the login as u")]
    [InlineData("ssh://u@h/x", "Host key verification failed.", StoreProblem.LoginRefused, "h's SSH host key is not the one seen before")]
    [InlineData("ssh://u@h/x?hostkey=SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", "Host key verification failed.", StoreProblem.LoginRefused,
        "h's SSH host key is not the pinned SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8")]
    [InlineData("ssh://u@h/x", "something odd", StoreProblem.MountFailed, "mounting ssh://u@h/x failed: something odd")]
    public void MountErrorsInPlainWords(string url, string error, StoreProblem problem, string words)
    {
        StoreException e = MountErrors.Classify(StoreLocation.Parse(url), error);

        Assert.Equal(problem, e.Problem);
        Assert.Contains(words, e.Message);
    }

    [Fact]
    public void SshfsTakesThePasswordOnStandardInputOnly()
    {
        MountCommand command = MountArguments.Sshfs(StoreLocation.Parse("ssh://u@h:2222/srv"), "/m", new StoreCredentials("secret"), "/run/k");

        Assert.Equal("secret\n", command.StandardInput);
        Assert.DoesNotContain("secret", command.ToString());
        Assert.Equal("u@h:/srv", command.Arguments[0]);
        Assert.Contains("password_stdin", command.Arguments[^1]);
        Assert.Contains("port=2222", command.Arguments[^1]);
        Assert.Contains("StrictHostKeyChecking=accept-new", command.Arguments[^1]);
        Assert.Contains("UserKnownHostsFile=/run/k", command.Arguments[^1]);
    }

    [Fact]
    public void SshfsWithAKeyAndNoPasswordNeverWaitsForOne()
    {
        MountCommand command = MountArguments.Sshfs(StoreLocation.Parse("ssh://u@h/srv"), "/m", new StoreCredentials(identityFile: "/k/id"), "/run/k");

        Assert.Null(command.StandardInput);
        Assert.Contains("IdentityFile=/k/id", command.Arguments[^1]);
        Assert.Contains("BatchMode=yes", command.Arguments[^1]);
        Assert.DoesNotContain("password_stdin", command.Arguments[^1]);
    }

    [Fact]
    public void PasswordComesFromTheFileBeforeTheEnvironment()
    {
        string file = _scratch.File("pw");
        File.WriteAllText(file, "from-file\nignored\n");

        Assert.Equal("from-file", StoreCredentials.From(file, null, _ => "from-env").Password);
        Assert.Equal("from-env", StoreCredentials.From(null, null, name => name == "LIVEIMAGER_PASSWORD" ? "from-env" : null).Password);
        Assert.Null(StoreCredentials.From(null, null, _ => null).Password);
        Assert.Contains("cannot read the password file", Assert.Throws<StoreException>(() => StoreCredentials.From(_scratch.File("none"), null)).Message);
    }

    [Fact]
    public void ARelativeKeyFileIsMadeAbsoluteForSshUnderTheSshfsDaemon()
    {
        string key = _scratch.File("id_test");
        File.WriteAllText(key, "not read here");

        StoreCredentials credentials = StoreCredentials.From(null, Path.GetRelativePath(Environment.CurrentDirectory, key), _ => null);

        Assert.Equal(key, credentials.IdentityFile);
    }
}
