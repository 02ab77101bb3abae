namespace LiveImager.Engine.Targets;

/// <summary>How stores are mounted: where, with which login, and which disks must never serve as one.</summary>
public sealed record StoreOptions
{
    /// <summary>Runtime directory on a tmpfs: mount points go under <c>mnt/</c>, SMB credential files under
    /// <c>credentials/</c>, remembered SSH host keys in <c>ssh_known_hosts</c>.</summary>
    public string RuntimeRoot { get; init; } = "/run/liveimager";

    public StoreCredentials Credentials { get; init; } = StoreCredentials.None;

    /// <summary>s3://: a PEM file of the CA that signed a lab server's certificate, trusted for that server only.</summary>
    public string? CaFile { get; init; }

    /// <summary>The disks (or disk image files) being captured or restored: none of their partitions may be a store.</summary>
    public IReadOnlyList<string> ExcludedDisks { get; init; } = [];

    public KernelSupport Kernel { get; init; } = new();

    /// <summary>Runs the mount tools; tests of SMB and NFS, which cannot mount on a kernel without them, pass their own.</summary>
    public MountRunner Run { get; init; } = StoreTools.Run;

    /// <summary>Tries a TCP connection to a network store's server (host, port) before its mount tool runs;
    /// <see cref="StoreMounter.RequireReachable"/> for real, a recorder in tests whose SMB or NFS server is made up.</summary>
    public Action<string, int> RequireReachable { get; init; } = StoreMounter.RequireReachable;

    public string MountRoot => Path.Combine(RuntimeRoot, "mnt");
    public string CredentialsRoot => Path.Combine(RuntimeRoot, "credentials");
    public string KnownHostsFile => Path.Combine(RuntimeRoot, "ssh_known_hosts");
}
