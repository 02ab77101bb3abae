using System.Net.Sockets;
using LiveImager.Formats.FileSystems;
using Serilog;

namespace LiveImager.Engine.Targets;

/// <summary>Mounts a <see cref="StoreLocation"/> with the standard tools under <c>RUNTIME/mnt/ID</c>: sshfs,
/// mount -t cifs, mount -t nfs, or the local partition's own driver.</summary>
public sealed class StoreMounter(StoreOptions options)
{
    /// <summary>Makes <paramref name="location"/> usable as a local directory; the caller disposes the result.</summary>
    public MountedStore Mount(StoreLocation location)
    {
        if (location.Kind == StoreKind.Local)
        {
            if (!Directory.Exists(location.Path))
            {
                throw new StoreException(StoreProblem.NotFound, $"the directory {location.Path} does not exist");
            }
            return new MountedStore(location, location.Path, null, options.Run);
        }
        if (location.Kind == StoreKind.S3)
        {
            // An object store has no directory to mount: the verbs that take an image stream it (StoreImage, S3Store).
            throw new StoreException(StoreProblem.Unsupported,
                $"{location} is an S3 bucket, which is read and written by capture, restore, verify, info and images, not mounted " +
                "(unattended runs and the TUI's Storage screen do not take s3:// yet)");
        }
        // Refuse what cannot work before creating anything.
        switch (location.Kind)
        {
            case StoreKind.Smb:
                options.Kernel.Require("cifs", "SMB shares");
                break;
            case StoreKind.Nfs:
                options.Kernel.Require("nfs", "NFS exports");
                break;
        }
        if (location.Kind is StoreKind.Ssh or StoreKind.Smb or StoreKind.Nfs)
        {
            options.RequireReachable(location.Host!, location.Port ?? DefaultPort(location.Kind));
        }
        string? fileSystem = location.Kind == StoreKind.Device ? PrepareDevice(location) : null;
        string mountPoint = Path.Combine(options.MountRoot, $"{location.Kind.ToString().ToLowerInvariant()}-{Guid.NewGuid():N}"[..20]);
        CreatePrivateDirectory(mountPoint);
        bool mounted = false;
        string? hostKey = null;
        try
        {
            switch (location.Kind)
            {
                case StoreKind.Ssh:
                    hostKey = MountSsh(location, mountPoint);
                    break;
                case StoreKind.Smb:
                    MountSmb(location, mountPoint);
                    break;
                case StoreKind.Nfs:
                    TryVersions(location, version => MountArguments.Nfs(location, mountPoint, version));
                    break;
                default:
                    Check(location, options.Run(MountArguments.Partition(location.Device!, mountPoint, fileSystem!)));
                    break;
            }
            mounted = true;
            Log.Information("Mounted {Location} at {MountPoint}", location.ToString(), mountPoint);
            // SSH and NFS mount the location's directory itself; SMB and partitions their root.
            string directory = location.Kind is StoreKind.Smb or StoreKind.Device
                ? Beneath(mountPoint, location)
                : mountPoint;
            if (!Directory.Exists(directory))
            {
                throw new StoreException(StoreProblem.NotFound, $"{location.Path} does not exist in {location}");
            }
            return new MountedStore(location, directory.TrimEnd('/'), mountPoint, options.Run, hostKey);
        }
        catch
        {
            if (mounted)
            {
                MountedStore.Unmount(mountPoint, options.Run);
            }
            else
            {
                Directory.Delete(mountPoint);
            }
            throw;
        }
    }

    /// <summary>The location's directory inside the share or partition mounted at <paramref name="mountPoint"/>, checked
    /// to stay beneath it: the joined path, and no link on the way to it (a server's symlink is resolved here, on the
    /// live system, and could lead anywhere in it).</summary>
    private static string Beneath(string mountPoint, StoreLocation location)
    {
        string directory = Path.GetFullPath(Path.Combine(mountPoint, location.Path.TrimStart('/')));
        if (directory != mountPoint && !directory.StartsWith(mountPoint + "/", StringComparison.Ordinal))
        {
            throw new StoreException(StoreProblem.Refused, $"{location} leads outside the store's root");
        }
        for (string part = directory; part.Length > mountPoint.Length; part = Path.GetDirectoryName(part)!)
        {
            if (new DirectoryInfo(part).LinkTarget is not null)
            {
                throw new StoreException(StoreProblem.Refused,
                    $"{location}: {Path.GetRelativePath(mountPoint, part)} is a symbolic link on the server; give the directory it points to");
            }
        }
        return directory;
    }

    /// <summary>Throws <see cref="StoreProblem.HostUnreachable"/> unless <paramref name="host"/> accepts a TCP connection
    /// on <paramref name="port"/> within 15 s. Tried before every network mount: sshfs reports an unreachable server
    /// and a refused login with the same words, and mount.nfs retries a refused connection for two minutes; what
    /// fails here is the network, what fails later is the login or the share.</summary>
    public static void RequireReachable(string host, int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            socket.ConnectAsync(host, port, timeout.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            string why = e is SocketException s ? s.Message : "no answer within 15 s";
            throw new StoreException(StoreProblem.HostUnreachable,
                $"cannot reach {host} on port {port}: {why}. Check the address, the network and that the server is on.", e);
        }
    }

    /// <summary>The port a server of this kind listens on when the URL names none: SSH 22, SMB 445 (SMB2 and later
    /// need only that one), NFS 2049 (nfsd; v3 also asks rpcbind on 111 for mountd).</summary>
    private static int DefaultPort(StoreKind kind) => kind switch
    {
        StoreKind.Ssh => 22,
        StoreKind.Smb => 445,
        _ => 2049,
    };

    /// <summary>Mounts with sshfs and returns the fingerprint of the host key it accepted (null when it came from the
    /// system's known_hosts rather than this boot's first use). With a pinned key the server's keys are fetched first
    /// (ssh-keyscan, no login) and a server without the pinned one is refused before any password or key is offered;
    /// sshfs then runs with that one key as its only known host and StrictHostKeyChecking=yes, so a server swapped in
    /// between is refused by ssh itself.</summary>
    private string? MountSsh(StoreLocation location, string mountPoint)
    {
        Directory.CreateDirectory(options.RuntimeRoot);
        string knownName = SshHostKeys.KnownHostsName(location.Host!, location.Port);
        if (location.HostKey is not { } pin)
        {
            Check(location, options.Run(MountArguments.Sshfs(location, mountPoint, options.Credentials, options.KnownHostsFile)));
            // ssh wrote the key there unless the system's /etc/ssh/ssh_known_hosts already held it.
            string? trusted = File.Exists(options.KnownHostsFile)
                ? SshHostKeys.For(SshHostKeys.Parse(File.ReadAllText(options.KnownHostsFile)), knownName).LastOrDefault()?.Fingerprint
                : null;
            if (trusted is null)
            {
                Log.Information("{Location}: SSH host key accepted from the system's known_hosts (not pinned)", location.ToString());
            }
            else
            {
                Log.Information("{Location}: SSH host key {Fingerprint} trusted on first use in this boot (not pinned; add " +
                    "?hostkey={Fingerprint} to the URL to pin it)", location.ToString(), trusted, trusted);
            }
            return trusted;
        }
        SshHostKey key = PinnedKey(location, pin);
        string pinnedFile = Path.Combine(options.RuntimeRoot, $"ssh_known_hosts.{Path.GetFileName(mountPoint)}");
        File.WriteAllText(pinnedFile, $"{knownName} {key.Type} {key.Blob}\n");
        try
        {
            Check(location, options.Run(MountArguments.Sshfs(location, mountPoint, options.Credentials, pinnedFile, pinned: true)));
        }
        finally
        {
            // ssh reads it once, while connecting: sshfs does not reconnect.
            File.Delete(pinnedFile);
        }
        Log.Information("{Location}: SSH host key {Fingerprint} matches the pinned one", location.ToString(), pin);
        return pin;
    }

    /// <summary>The server's host key whose fingerprint is <paramref name="pin"/>, fetched with ssh-keyscan; throws
    /// "the SSH host key of HOST is SHA256:X, expected SHA256:Y" when it offers no such key.</summary>
    private SshHostKey PinnedKey(StoreLocation location, string pin)
    {
        ToolOutput scan = options.Run(MountArguments.SshKeyscan(location));
        IReadOnlyList<SshHostKey> offered = SshHostKeys.Parse(scan.StandardError);
        if (offered.Count == 0)
        {
            throw new StoreException(StoreProblem.MountFailed, $"{location.Host} showed no SSH host key to ssh-keyscan, so the pinned " +
                $"{pin} cannot be checked; nothing was sent to it. ({scan.StandardError.Trim()})");
        }
        return offered.FirstOrDefault(k => k.Fingerprint == pin) ?? throw new StoreException(StoreProblem.LoginRefused,
            $"the SSH host key of {location.Host} is {string.Join(" or ", offered.Select(k => k.Fingerprint).Distinct())}, expected {pin}: " +
            "refusing to log in (a different server, or someone in between); no password or key was sent");
    }

    private static void Check(StoreLocation location, ToolOutput result)
    {
        if (result.ExitCode != 0)
        {
            throw MountErrors.Classify(location, result.StandardError);
        }
    }

    private void TryVersions(StoreLocation location, Func<string, MountCommand> command)
    {
        ToolOutput result = new(-1, "no version tried");
        foreach (string version in MountArguments.VersionsToTry(location))
        {
            result = options.Run(command(version));
            if (result.ExitCode == 0)
            {
                Log.Information("Mounted {Location} with protocol version {Version}", location.ToString(), version);
                return;
            }
            if (!MountErrors.IsVersionMismatch(location.Kind, result.StandardError))
            {
                break;
            }
            Log.Information("{Location}: the server refused protocol version {Version}; trying an older one", location.ToString(), version);
        }
        throw MountErrors.Classify(location, result.StandardError);
    }

    /// <summary>The password reaches mount.cifs only through a file of mode 0600 on the runtime tmpfs, removed as
    /// soon as the mount call returns (mount.cifs reads it once).</summary>
    private void MountSmb(StoreLocation location, string mountPoint)
    {
        string? credentialsFile = null;
        if (location.User is not null)
        {
            CreatePrivateDirectory(options.CredentialsRoot);
            credentialsFile = Path.Combine(options.CredentialsRoot, Path.GetFileName(mountPoint));
            WritePrivateFile(credentialsFile, MountArguments.CifsCredentialsText(location, options.Credentials));
        }
        try
        {
            TryVersions(location, version => MountArguments.Cifs(location, mountPoint, credentialsFile, version));
        }
        finally
        {
            if (credentialsFile is not null)
            {
                File.Delete(credentialsFile);
            }
        }
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("stores are mounted on Linux only");
        }
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Creates <paramref name="path"/> with mode 0600 from the start, so the secret is never readable by others.</summary>
    private static void WritePrivateFile(string path, string content)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("stores are mounted on Linux only");
        }
        using var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        using var writer = new StreamWriter(file);
        writer.Write(content);
    }

    /// <summary>Checks the partition may serve as a store and returns how to mount it.</summary>
    private string PrepareDevice(StoreLocation location)
    {
        string device = location.Device!;
        if (!File.Exists(device))
        {
            throw new StoreException(StoreProblem.NotFound, $"there is no partition {device}");
        }
        string name = ResolveName(device);
        string disk = File.Exists($"/sys/class/block/{name}/partition")
            ? Path.GetFileName(Path.GetDirectoryName(new DirectoryInfo($"/sys/class/block/{name}").ResolveLinkTarget(true)?.FullName
                ?? $"/sys/class/block/{name}"))!
            : name;
        foreach (string excluded in options.ExcludedDisks)
        {
            string excludedName = ResolveName(excluded);
            if (excludedName == disk || excludedName == name)
            {
                throw new StoreException(StoreProblem.Refused,
                    $"{device} is on {excluded}, the disk being imaged; choose a store on another disk");
            }
        }
        var head = new byte[FileSystemDetector.HeadBytes];
        using (var stream = new FileStream(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0))
        {
            stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        FileSystemKind kind = FileSystemRegistry.Modules.Select(m => m.Probe(head)).FirstOrDefault(k => k != FileSystemKind.Unknown);
        switch (kind)
        {
            case FileSystemKind.Ext2 or FileSystemKind.Ext3 or FileSystemKind.Ext4:
                options.Kernel.Require(kind.ToName(), $"{kind.ToName()} filesystems");
                return kind.ToName();
            case FileSystemKind.Fat12 or FileSystemKind.Fat16 or FileSystemKind.Fat32:
                options.Kernel.Require("vfat", "FAT filesystems");
                return "vfat";
            case FileSystemKind.ExFat:
                if (options.Kernel.Has("exfat"))
                {
                    return "exfat";
                }
                return StoreTools.Find("mount.exfat-fuse") is not null ? "exfat-fuse"
                    : throw new StoreException(StoreProblem.Unsupported, "this kernel cannot mount exFAT and exfat-fuse is not installed");
            case FileSystemKind.Ntfs:
                return StoreTools.Find("ntfs-3g") is not null ? "ntfs-3g"
                    : throw new StoreException(StoreProblem.Unsupported, "NTFS needs ntfs-3g, which is not installed");
            default:
                throw new StoreException(StoreProblem.Unsupported,
                    $"{device} holds {(kind == FileSystemKind.Unknown ? "no filesystem this tool knows" : kind.ToName())}; " +
                    "a store must be ext4, FAT, exFAT or NTFS");
        }
    }

    /// <summary>The kernel name of a device node (following /dev/disk/by-* links), or the file name of an image file.</summary>
    private static string ResolveName(string path)
    {
        FileSystemInfo? target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true);
        return Path.GetFileName(target?.FullName ?? Path.GetFullPath(path));
    }
}
