namespace LiveImager.Engine.Targets;

/// <summary>The command lines of the standard mount tools for each kind of store: pure functions, so what reaches
/// a process's argument list (never a password) is testable without a server.</summary>
public static class MountArguments
{
    /// <summary>SMB dialects tried newest first when the URL gives no <c>?vers=</c>.</summary>
    public static IReadOnlyList<string> SmbVersions { get; } = ["3.1.1", "3.0", "2.1", "2.0", "1.0"];

    /// <summary>NFS versions tried when the URL gives no <c>?vers=</c> and no port.</summary>
    public static IReadOnlyList<string> NfsVersions { get; } = ["4", "3"];

    /// <summary>The protocol versions to try for an SMB or NFS <paramref name="location"/>, in order: the URL's
    /// <c>?vers=</c> alone, else newest first. NFS with a port tries version 4 only: NFSv4 needs nothing but that one
    /// port, while v3 would still look up mountd through rpcbind on 111, which a server on its own port (behind a
    /// port forward, say) rarely offers.</summary>
    public static IReadOnlyList<string> VersionsToTry(StoreLocation location) => location switch
    {
        { Version: { } version } => [version],
        { Kind: StoreKind.Smb } => SmbVersions,
        { Port: not null } => ["4"],
        _ => NfsVersions,
    };

    /// <summary><c>sshfs user@host:/path MOUNT -o ...</c>. The password goes to standard input (<c>password_stdin</c>).
    /// Unpinned, host keys are trusted on first use and remembered in <paramref name="knownHostsFile"/>; with
    /// <paramref name="pinned"/>, that file holds the one key allowed and no other is accepted.</summary>
    public static MountCommand Sshfs(StoreLocation location, string mountPoint, StoreCredentials credentials, string knownHostsFile,
        bool pinned = false)
    {
        var options = new List<string>
        {
            // A live system has never seen the server before: unless a key is pinned, trust the first, refuse a changed one.
            pinned ? "StrictHostKeyChecking=yes" : "StrictHostKeyChecking=accept-new",
            $"UserKnownHostsFile={knownHostsFile}",
            "ConnectTimeout=15",
            // A server that vanishes fails the job within a minute instead of hanging it.
            "ServerAliveInterval=15",
            "ServerAliveCountMax=3",
        };
        if (pinned)
        {
            // Only the pinned key: not one some earlier administrator left in /etc/ssh/ssh_known_hosts.
            options.Add("GlobalKnownHostsFile=/dev/null");
        }
        if (location.Port is { } port)
        {
            options.Add($"port={port}");
        }
        if (credentials.IdentityFile is { } key)
        {
            options.Add($"IdentityFile={key}");
            options.Add("IdentitiesOnly=yes");
        }
        if (credentials.Password is not null)
        {
            options.Add("password_stdin");
            options.Add("NumberOfPasswordPrompts=1");
            if (credentials.IdentityFile is null)
            {
                options.Add("PubkeyAuthentication=no");
            }
        }
        else
        {
            // No password to give: fail at once instead of waiting for one on a terminal.
            options.Add("BatchMode=yes");
        }
        string host = location.Host!.Contains(':') ? $"[{location.Host}]" : location.Host;
        return new MountCommand("sshfs", [$"{location.User}@{host}:{location.Path}", mountPoint, "-o", string.Join(',', options)],
            credentials.Password is null ? null : credentials.Password + "\n");
    }

    /// <summary><c>ssh-keyscan -T 15 -p PORT HOST</c>: the server's host keys, fetched without logging in.</summary>
    public static MountCommand SshKeyscan(StoreLocation location) =>
        new("ssh-keyscan", ["-T", "15", "-p", (location.Port ?? 22).ToString(System.Globalization.CultureInfo.InvariantCulture), location.Host!]);

    /// <summary><c>mount -t cifs //host/share MOUNT -o credentials=FILE,vers=V[,port=N],...</c>; the user, domain and
    /// password are only in the credentials file (see <see cref="CifsCredentialsText"/>), or <c>guest</c> without a user.</summary>
    public static MountCommand Cifs(StoreLocation location, string mountPoint, string? credentialsFile, string version)
    {
        string login = credentialsFile is null ? "guest" : $"credentials={credentialsFile}";
        return new MountCommand("mount", ["-t", "cifs", $"//{location.Host}/{location.Share}", mountPoint,
            "-o", $"{login},vers={version}{PortOption(location)},uid=0,gid=0,file_mode=0600,dir_mode=0700,nosuid,nodev,noexec"]);
    }

    /// <summary>The content of mount.cifs's credentials file (cifs-utils mount.cifs(8), "credentials=").</summary>
    public static string CifsCredentialsText(StoreLocation location, StoreCredentials credentials) =>
        $"username={location.User}\npassword={credentials.Password ?? string.Empty}\n" +
        (location.Domain is null ? string.Empty : $"domain={location.Domain}\n");

    /// <summary><c>mount -t nfs -o vers=V[,port=N],... host:/path MOUNT</c>. Soft mounts so a vanished server fails the
    /// job with an I/O error instead of hanging it forever; the image's checksums catch any damage.</summary>
    public static MountCommand Nfs(StoreLocation location, string mountPoint, string version)
    {
        string host = location.Host!.Contains(':') ? $"[{location.Host}]" : location.Host;
        return new MountCommand("mount", ["-t", "nfs", "-o", $"vers={version}{PortOption(location)},soft,timeo=150,retrans=3,nosuid,nodev,noexec",
            $"{host}:{location.Path}", mountPoint]);
    }

    /// <summary>The port the server listens on, when the URL gives one: <c>,port=N</c> (mount.cifs(8) and nfs(5)
    /// both spell it so).</summary>
    private static string PortOption(StoreLocation location) => location.Port is { } port ? $",port={port}" : "";

    /// <summary>The command that mounts a local partition holding <paramref name="fileSystem"/> (a name from
    /// /proc/filesystems, or "exfat-fuse"/"ntfs-3g" for the FUSE drivers) read-write.</summary>
    public static MountCommand Partition(string device, string mountPoint, string fileSystem) => fileSystem switch
    {
        "ntfs-3g" => new MountCommand("ntfs-3g", [device, mountPoint, "-o", "rw,nosuid,nodev,noexec"]),
        "exfat-fuse" => new MountCommand("mount.exfat-fuse", [device, mountPoint, "-o", "rw,nosuid,nodev,noexec"]),
        _ => new MountCommand("mount", ["-t", fileSystem, "-o", "rw,nosuid,nodev,noexec", device, mountPoint]),
    };
}
