using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>A real sshd on 127.0.0.1 on a free port, with its own host key and config, and a test user with a random
/// password and a key; on Dispose the server stops, its directories go, and the user is deleted (or locked, if it was
/// there before). Needs root (useradd, sshd) and openssh-server.</summary>
public sealed class SshServerFixture : IDisposable
{
    public const string User = "liveimager-test";

    private readonly ScratchDirectory _scratch = new();
    private readonly int _pid;
    private readonly bool _createdUser;

    public SshServerFixture()
    {
        if (!Privileges.IsRoot)
        {
            SkipReason = "needs root to add the test user and run sshd (run `make test` as root, as CI does)";
            return;
        }
        foreach (var (tool, package) in new[] { ("sshd", "openssh-server"), ("ssh-keygen", "openssh-client"), ("sshfs", "sshfs"),
            ("useradd", "passwd"), ("chpasswd", "passwd") })
        {
            if (!ExternalTool.Exists(tool))
            {
                SkipReason = $"needs {tool} (apt-get install {package}; `make test` installs it)";
                return;
            }
        }
        if (!File.Exists("/dev/fuse"))
        {
            SkipReason = "needs FUSE (/dev/fuse) for sshfs";
            return;
        }
        if (ExternalTool.RunUnchecked("id", null, User).ExitCode != 0)
        {
            ExternalTool.Run("useradd", "--create-home", "--shell", "/bin/sh", User);
            _createdUser = true;
        }
        Password = "pw-" + Guid.NewGuid().ToString("N")[..16];
        ExternalTool.RunWithInput("chpasswd", $"{User}:{Password}\n");
        string home = $"/home/{User}";
        KeyFile = _scratch.File("client_key");
        ExternalTool.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", KeyFile);
        Directory.CreateDirectory($"{home}/.ssh");
        File.WriteAllText($"{home}/.ssh/authorized_keys", File.ReadAllText(KeyFile + ".pub"));
        ExternalTool.Run("chown", "-R", $"{User}:{User}", $"{home}/.ssh");
        string hostKey = _scratch.File("host_key");
        ExternalTool.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey);
        // ssh-keygen -l prints "256 SHA256:… comment (ED25519)": the fingerprint a technician would pin.
        HostKeyFingerprint = ExternalTool.Run("ssh-keygen", "-l", "-f", hostKey + ".pub").Split(' ')[1];
        Port = FreePort();
        string pidFile = _scratch.File("sshd.pid");
        string config = _scratch.File("sshd_config");
        File.WriteAllText(config, $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {hostKey}
            PidFile {pidFile}
            PasswordAuthentication yes
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            UsePAM yes
            PermitRootLogin no
            AllowUsers {User}
            StrictModes no
            Subsystem sftp internal-sftp
            """);
        Directory.CreateDirectory("/run/sshd");
        ExternalTool.Run("sshd", "-f", config, "-E", _scratch.File("sshd.log"));
        var started = Stopwatch.StartNew();
        while (!File.Exists(pidFile) || File.ReadAllText(pidFile).Trim().Length == 0)
        {
            if (started.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"sshd did not start: {File.ReadAllText(_scratch.File("sshd.log"))}");
            }
            Thread.Sleep(50);
        }
        _pid = int.Parse(File.ReadAllText(pidFile).Trim());
    }

    /// <summary>Why the tests using this fixture are skipped, or null when the server runs.</summary>
    public string? SkipReason { get; }

    public int Port { get; }
    public string Password { get; } = "";
    public string KeyFile { get; } = "";

    /// <summary>The server's host key fingerprint (SHA256:…), as <c>ssh-keygen -lf</c> prints it.</summary>
    public string HostKeyFingerprint { get; } = "";

    /// <summary>What sshd has logged so far (its -E file): connections, logins, failures.</summary>
    public string LogText => File.ReadAllText(_scratch.File("sshd.log"));

    /// <summary>A new empty directory in the test user's home: writable by the user, or owned by root and read-only to it.</summary>
    public string NewDirectory(bool writable = true)
    {
        string path = $"/home/{User}/store-{Guid.NewGuid():N}";
        Directory.CreateDirectory(path);
        if (writable)
        {
            ExternalTool.Run("chown", $"{User}:{User}", path);
        }
        return path;
    }

    public string Url(string path) => $"ssh://{User}@127.0.0.1:{Port}{path}";

    public void Dispose()
    {
        if (_pid > 0)
        {
            try
            {
                using Process sshd = Process.GetProcessById(_pid);
                sshd.Kill();
                sshd.WaitForExit(5000);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
            foreach (string directory in Directory.GetDirectories($"/home/{User}", "store-*"))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        if (_createdUser)
        {
            ExternalTool.RunUnchecked("userdel", null, "--remove", User);
        }
        else if (Password.Length > 0)
        {
            // A user that was here before keeps existing, but not with a password that worked for this run.
            ExternalTool.RunUnchecked("usermod", null, "--lock", User);
        }
        _scratch.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Tests sharing one sshd.</summary>
[CollectionDefinition(Name)]
public sealed class SshServerCollection : ICollectionFixture<SshServerFixture>
{
    public const string Name = "sshd";
}
