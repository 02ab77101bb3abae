namespace LiveImager.Engine.Targets;

/// <summary>Turns what sshfs, mount.cifs and mount.nfs print on failure into plain words.</summary>
public static class MountErrors
{
    private static readonly string[] s_unreachable =
    [
        "Connection refused", "No route to host", "Network is unreachable", "Connection timed out", "timed out",
        "Could not resolve hostname", "Name or service not known", "Temporary failure in name resolution",
        "Failed to resolve server", "could not resolve address", "Host is down", "mount error(112)", "mount error(113)",
        "mount error(111)", "mount error(115)",
    ];

    /// <summary>True when mount.cifs/mount.nfs says the server does not speak the requested protocol version, so the
    /// next older one is worth trying.</summary>
    public static bool IsVersionMismatch(StoreKind kind, string error) => kind switch
    {
        StoreKind.Smb => error.Contains("mount error(95)", StringComparison.Ordinal) ||
            error.Contains("Operation not supported", StringComparison.Ordinal),
        StoreKind.Nfs => error.Contains("Protocol not supported", StringComparison.Ordinal) ||
            error.Contains("requested NFS version or transport protocol is not supported", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>The exception for a failed mount of <paramref name="location"/> whose tool printed <paramref name="error"/>.</summary>
    public static StoreException Classify(StoreLocation location, string error)
    {
        string detail = FirstLines(error);
        string host = location.Host ?? location.Device ?? location.Path;
        string who = location.User is null ? "" : $" as {location.User}";
        if (error.Contains("Host key verification failed", StringComparison.Ordinal) ||
            error.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED", StringComparison.Ordinal))
        {
            string expected = location.HostKey is { } pin ? $"the pinned {pin}" : "the one seen before";
            return new(StoreProblem.LoginRefused, $"{host}'s SSH host key is not {expected}: refusing to log in " +
                $"(a changed server, or someone in between). ({detail})");
        }
        if (location.Kind == StoreKind.Ssh && error.Contains("Permission denied", StringComparison.Ordinal) ||
            location.Kind == StoreKind.Smb && (error.Contains("mount error(13)", StringComparison.Ordinal) ||
                error.Contains("mount error(126)", StringComparison.Ordinal)) ||
            error.Contains("Too many authentication failures", StringComparison.Ordinal))
        {
            return new(StoreProblem.LoginRefused, $"{host} refused the login{who}: wrong user name, password or key. ({detail})");
        }
        if (location.Kind == StoreKind.Nfs && error.Contains("access denied by server", StringComparison.Ordinal))
        {
            return new(StoreProblem.PermissionDenied, $"{host} does not export {location.Path} to this machine (access denied). ({detail})");
        }
        if (error.Contains("Permission denied", StringComparison.Ordinal) || error.Contains("mount error(13)", StringComparison.Ordinal))
        {
            return new(StoreProblem.PermissionDenied, $"permission denied{who} on {location}. ({detail})");
        }
        if (location.Kind == StoreKind.Smb && (error.Contains("mount error(2)", StringComparison.Ordinal) ||
            error.Contains("mount error(6)", StringComparison.Ordinal)))
        {
            return new(StoreProblem.NotFound, $"{host} has no share named '{location.Share}'. ({detail})");
        }
        if (error.Contains("No such file or directory", StringComparison.Ordinal) || error.Contains("does not exist", StringComparison.Ordinal))
        {
            return new(StoreProblem.NotFound, $"{location.Path} does not exist on {host}. ({detail})");
        }
        if (s_unreachable.Any(s => error.Contains(s, StringComparison.OrdinalIgnoreCase)))
        {
            return new(StoreProblem.HostUnreachable, $"cannot reach {host}: check the address, the network and that the server is on. ({detail})");
        }
        // sshfs hides ssh's own words behind this once the server has answered (StoreMounter checked it does):
        // the server dropped the connection during the login.
        if (location.Kind == StoreKind.Ssh && (error.Contains("Connection reset by peer", StringComparison.Ordinal) ||
            error.Contains("Connection closed", StringComparison.Ordinal)))
        {
            return new(StoreProblem.LoginRefused, $"{host} refused the login{who}: wrong user name, password or key. ({detail})");
        }
        return new(StoreProblem.MountFailed, $"mounting {location} failed: {detail}");
    }

    private static string FirstLines(string error)
    {
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string text = string.Join("; ", lines.Take(3));
        return text.Length == 0 ? "the tool printed nothing" : text;
    }
}
