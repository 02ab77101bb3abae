using System.Security.Cryptography;

namespace LiveImager.Engine.Targets;

/// <summary>One SSH host key as a known_hosts line holds it (and ssh-keyscan prints it): "HOSTS TYPE BASE64".</summary>
public sealed record SshHostKey(string Hosts, string Type, string Blob)
{
    /// <summary>The fingerprint as <c>ssh-keygen -l</c> prints it: "SHA256:" and the unpadded base64 of the SHA-256 of
    /// the key blob (ssh-keygen(1), FingerprintHash).</summary>
    public string Fingerprint => SshHostKeys.Fingerprint(Convert.FromBase64String(Blob));

    /// <summary>The known_hosts line.</summary>
    public string Line => $"{Hosts} {Type} {Blob}";
}

/// <summary>SSH host keys: reading known_hosts / ssh-keyscan text and computing fingerprints, for pinning a
/// server's key (<c>ssh://…?hostkey=SHA256:…</c>) and reporting the key that was trusted.</summary>
public static class SshHostKeys
{
    private const string Sha256Prefix = "SHA256:";

    /// <summary>A hashed host name in known_hosts (HashKnownHosts=yes).</summary>
    private const string HashedPrefix = "|1|";

    /// <summary>Base64 of 32 bytes without its one '=' of padding.</summary>
    private const int Sha256Base64Length = 43;

    /// <summary>True when <paramref name="text"/> is a SHA256 fingerprint as OpenSSH prints it.</summary>
    public static bool IsFingerprint(string text)
    {
        if (!text.StartsWith(Sha256Prefix, StringComparison.Ordinal) || text.Length != Sha256Prefix.Length + Sha256Base64Length)
        {
            return false;
        }
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        return Convert.TryFromBase64String(text[Sha256Prefix.Length..] + "=", hash, out int written) && written == hash.Length;
    }

    /// <summary>The SHA256 fingerprint of a key blob (the decoded base64 field of a known_hosts line).</summary>
    public static string Fingerprint(ReadOnlySpan<byte> blob) => Sha256Prefix + Convert.ToBase64String(SHA256.HashData(blob)).TrimEnd('=');

    /// <summary>The host keys in known_hosts or ssh-keyscan text; comments, markers (@revoked, @cert-authority) and
    /// lines that are not "HOSTS TYPE BASE64" are skipped.</summary>
    public static IReadOnlyList<SshHostKey> Parse(string text)
    {
        var keys = new List<SshHostKey>();
        foreach (string line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (line.StartsWith('#') || line.StartsWith('@') || fields.Length < 3 || !IsBase64(fields[2]))
            {
                continue;
            }
            keys.Add(new SshHostKey(fields[0], fields[1], fields[2]));
        }
        return keys;
    }

    /// <summary>How ssh names <paramref name="host"/> in known_hosts: the bare name on port 22, else "[host]:port".</summary>
    public static string KnownHostsName(string host, int? port) => port is null or 22 ? host : $"[{host}]:{port}";

    /// <summary>The keys in <paramref name="keys"/> recorded for <paramref name="knownHostsName"/>: an entry whose
    /// comma-separated host list names it, or a hashed one ("|1|SALT|HASH", HASH = HMAC-SHA1 of the name keyed with
    /// SALT, sshd(8) SSH_KNOWN_HOSTS FILE FORMAT) that Debian's HashKnownHosts=yes writes.</summary>
    public static IEnumerable<SshHostKey> For(IEnumerable<SshHostKey> keys, string knownHostsName) =>
        keys.Where(k => k.Hosts.Split(',').Any(pattern => Names(pattern, knownHostsName)));

    private static bool Names(string pattern, string knownHostsName)
    {
        if (!pattern.StartsWith(HashedPrefix, StringComparison.Ordinal))
        {
            return string.Equals(pattern, knownHostsName, StringComparison.OrdinalIgnoreCase);
        }
        string[] parts = pattern[HashedPrefix.Length..].Split('|');
        if (parts.Length != 2 || !IsBase64(parts[0]) || !IsBase64(parts[1]))
        {
            return false;
        }
        byte[] hash = HMACSHA1.HashData(Convert.FromBase64String(parts[0]), System.Text.Encoding.ASCII.GetBytes(knownHostsName.ToLowerInvariant()));
        return CryptographicOperations.FixedTimeEquals(hash, Convert.FromBase64String(parts[1]));
    }

    private static bool IsBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _);
    }
}
