using System.Globalization;

namespace LiveImager.Engine.Targets;

/// <summary>The kinds of place an image can live.</summary>
public enum StoreKind
{
    Local,
    Smb,
    Nfs,
    Ssh,
    Device,
    /// <summary>An S3-compatible object store: not mounted, read and written through <see cref="S3Client"/>.</summary>
    S3,
}

/// <summary>Where images live, parsed from a URL: a local path, <c>smb://[domain;]user@host[:port]/share/path</c>,
/// <c>nfs://host[:port]/export/path</c>, <c>ssh://user@host[:port]/path</c> or <c>dev:///dev/sdb1/path</c>.</summary>
/// <param name="Path">Local: the absolute path. SMB: the path inside the share. NFS and SSH: the server's absolute
/// path. Device: the path inside the partition's filesystem. Always starts with '/'.</param>
/// <param name="Version">SMB or NFS protocol version from a <c>?vers=</c> query, or null to try the newest first.</param>
/// <param name="HostKey">SSH: the server's host-key fingerprint from a <c>?hostkey=SHA256:…</c> query, which the server
/// must show before anything is sent to it; null to trust the first key seen in this boot.</param>
/// <param name="S3">S3: the region and how the server is addressed (<c>s3://[access-key@]host[:port]/bucket/prefix</c>,
/// the access key in <see cref="User"/>, the bucket in <see cref="Share"/>, the prefix in <see cref="Path"/>).</param>
public sealed record StoreLocation(StoreKind Kind, string Path, string? Host = null, int? Port = null, string? User = null,
    string? Domain = null, string? Share = null, string? Device = null, string? Version = null, string? HostKey = null,
    S3Addressing? S3 = null)
{
    private const string Forms = "a local path, smb://[domain;]user@host[:port]/share/path, nfs://host[:port]/export/path, " +
        "ssh://user@host[:port]/path[?hostkey=SHA256:…], s3://[access-key@]host[:port]/bucket/prefix[?region=R&tls=0&style=virtual] " +
        "or dev:///dev/sdb1/path";

    private static readonly string[] s_smbVersions = ["3.1.1", "3.11", "3.02", "3.0", "2.1", "2.0", "1.0"];
    private static readonly string[] s_nfsVersions = ["4.2", "4.1", "4", "4.0", "3"];

    /// <summary>The schemes <see cref="Parse"/> knows; any of them followed by ':' makes the text a URL, never a local path.</summary>
    private static readonly string[] s_schemes = ["smb", "cifs", "nfs", "ssh", "sftp", "dev", "s3"];

    /// <summary>True when <paramref name="text"/> names a network or device store rather than a local path: it holds
    /// "://", or starts with a known scheme and ':' (<c>smb:/host/share</c>, one slash short), or with any scheme and
    /// ":/" (<c>ftp:/x</c>). Such text is parsed as a URL and refused if it is not a good one, so a mistyped URL never
    /// becomes a local directory named "smb:". A local path that really starts so is written <c>./smb:…</c>.</summary>
    public static bool IsUrl(string text) => text.Contains("://", StringComparison.Ordinal) || SchemeOf(text) is not null;

    /// <summary>The scheme a URL-like <paramref name="text"/> starts with (RFC 3986 3.1: a letter, then letters, digits,
    /// '+', '-', '.'), when it is a known one or followed by '/'; otherwise null.</summary>
    private static string? SchemeOf(string text)
    {
        int colon = text.IndexOf(':');
        if (colon < 1 || !char.IsAsciiLetter(text[0]) || !text[1..colon].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.'))
        {
            return null;
        }
        string scheme = text[..colon].ToLowerInvariant();
        return s_schemes.Contains(scheme) || text.AsSpan(colon + 1).StartsWith("/") ? scheme : null;
    }

    /// <summary>Parses a location; throws <see cref="StoreException"/> (<see cref="StoreProblem.BadLocation"/>)
    /// naming what is wrong.</summary>
    public static StoreLocation Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Bad(text, "the location is empty");
        }
        if (text.Any(char.IsControl))
        {
            throw Bad(text, "the location holds a control character");
        }
        if (!IsUrl(text))
        {
            return new StoreLocation(StoreKind.Local, System.IO.Path.GetFullPath(text));
        }
        int colon = text.IndexOf(':');
        string scheme = text[..colon].ToLowerInvariant();
        if (scheme.Length == 0)
        {
            throw Bad(text, "the scheme before :// is missing");
        }
        if (!s_schemes.Contains(scheme))
        {
            throw Bad(text, $"the scheme '{scheme}' is not supported");
        }
        if (!text.AsSpan(colon + 1).StartsWith("//"))
        {
            throw Bad(text, $"'{scheme}:' must be followed by two slashes, as in {FormOf(scheme)}");
        }
        string rest = text[(colon + 3)..];
        CheckCharacters(text, rest);
        string? version = null;
        string? hostKey = null;
        var s3 = new S3Addressing();
        int query = rest.IndexOf('?');
        if (query >= 0)
        {
            (version, hostKey, s3) = ParseQuery(text, scheme, rest[(query + 1)..]);
            rest = rest[..query];
        }
        return scheme switch
        {
            "dev" => ParseDevice(text, rest),
            "s3" => ParseS3(text, rest, s3),
            "smb" or "cifs" => ParseSmb(text, rest, version),
            "nfs" => ParseNfs(text, rest, version),
            _ => ParseSsh(text, rest) with { HostKey = hostKey },
        };
    }

    /// <summary>The one accepted form for <paramref name="scheme"/>, for messages.</summary>
    private static string FormOf(string scheme) => scheme switch
    {
        "smb" or "cifs" => "smb://[domain;]user@host[:port]/share/path",
        "nfs" => "nfs://host[:port]/export/path",
        "ssh" or "sftp" => "ssh://user@host[:port]/path",
        "s3" => "s3://[access-key@]host[:port]/bucket/prefix",
        _ => "dev:///dev/sdb1/path",
    };

    /// <summary>Refuses characters a URL cannot hold as typed (RFC 3986 2, 3): spaces and <c>\ " &lt; &gt; ^ ` { | }</c>,
    /// and a '%' not followed by two hex digits. They are written percent-encoded (a space is %20).</summary>
    private static void CheckCharacters(string text, string rest)
    {
        for (int i = 0; i < rest.Length; i++)
        {
            char c = rest[i];
            if (char.IsWhiteSpace(c) || c is '\\' or '"' or '<' or '>' or '^' or '`' or '{' or '|' or '}')
            {
                throw Bad(text, $"the character '{c}' does not belong in a URL; write it percent-encoded (a space is %20)");
            }
            if (c == '%' && (i + 2 >= rest.Length || !char.IsAsciiHexDigit(rest[i + 1]) || !char.IsAsciiHexDigit(rest[i + 2])))
            {
                throw Bad(text, "a '%' must be followed by two hex digits (%25 for '%' itself)");
            }
        }
    }

    /// <summary>Splits a location naming an image file into its directory's location and the file name.</summary>
    public (StoreLocation Directory, string FileName) SplitFile()
    {
        string trimmed = Path.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        string name = trimmed[(slash + 1)..];
        if (name.Length == 0)
        {
            throw new StoreException(StoreProblem.BadLocation, $"{this} names a directory; give the image's file name at its end");
        }
        string directory = slash <= 0 ? "/" : trimmed[..slash];
        return (this with { Path = directory }, name);
    }

    /// <summary>The location as a URL, without any secret (there is none in it to begin with) and without the query
    /// (<c>vers=</c>, <c>hostkey=</c>), so that a path inside the store can follow it in messages.</summary>
    public override string ToString() => Kind switch
    {
        StoreKind.Local => Path,
        StoreKind.Smb => $"smb://{(Domain is null ? "" : Domain + ";")}{(User is null ? "" : User + "@")}{HostPart}/{Share}{(Path == "/" ? "" : Path)}",
        StoreKind.Nfs => $"nfs://{HostPart}{Path}",
        StoreKind.Ssh => $"ssh://{User}@{HostPart}{Path}",
        StoreKind.S3 => $"s3://{(User is null ? "" : User + "@")}{HostPart}/{Share}{(Path == "/" ? "" : Path)}",
        _ => $"dev://{Device}{(Path == "/" ? "" : Path)}",
    };

    /// <summary>The location as a URL that <see cref="Parse"/> reads back to this location: every field
    /// percent-encoded, the query kept. The TUI's forms build their location so, to be checked by the same parser.</summary>
    public string ToUrl()
    {
        string query = Version is not null ? $"?vers={Version}" : HostKey is not null ? $"?hostkey={HostKey}" : S3?.Query ?? "";
        return Kind switch
        {
            StoreKind.Local => Path,
            StoreKind.Smb => $"smb://{(Domain is null ? "" : Escape(Domain) + ";")}{(User is null ? "" : Escape(User) + "@")}{HostPart}/" +
                $"{Escape(Share ?? "")}{(Path == "/" ? "" : EscapePath(Path))}{query}",
            StoreKind.Nfs => $"nfs://{HostPart}{EscapePath(Path)}{query}",
            StoreKind.Ssh => $"ssh://{Escape(User ?? "")}@{HostPart}{EscapePath(Path)}{query}",
            StoreKind.S3 => $"s3://{(User is null ? "" : Escape(User) + "@")}{HostPart}/{Escape(Share ?? "")}{(Path == "/" ? "" : EscapePath(Path))}{query}",
            _ => $"dev://{EscapePath(Device ?? "")}{(Path == "/" ? "" : EscapePath(Path))}",
        };
    }

    /// <summary><paramref name="path"/> with each segment percent-encoded, the '/' between them kept.</summary>
    public static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Escape));

    private static string Escape(string field) => Uri.EscapeDataString(field);

    private string HostPart => (Host!.Contains(':') ? $"[{Host}]" : Host) + (Port is { } p ? $":{p}" : "");

    private static StoreLocation ParseDevice(string text, string rest)
    {
        if (!rest.StartsWith("/dev/", StringComparison.Ordinal))
        {
            throw Bad(text, "a dev:// location names a partition: dev:///dev/sdb1/path (three slashes)");
        }
        string[] segments = Segments(text, rest[1..]);
        // /dev/disk/by-label/NAME is four segments deep; /dev/sdb1 two.
        int deviceSegments = segments.Length > 1 && segments[1] == "disk" ? 4 : 2;
        if (segments.Length < deviceSegments)
        {
            throw Bad(text, "the partition's name is missing after /dev/");
        }
        string device = "/" + string.Join('/', segments[..deviceSegments]);
        return new StoreLocation(StoreKind.Device, JoinPath(segments[deviceSegments..]), Device: device);
    }

    private static StoreLocation ParseSmb(string text, string rest, string? version)
    {
        var (userInfo, host, port, path) = SplitAuthority(text, rest);
        string? domain = null;
        string? user = userInfo;
        if (userInfo is not null && userInfo.IndexOf(';') is int semicolon and >= 0)
        {
            domain = userInfo[..semicolon];
            user = userInfo[(semicolon + 1)..];
            if (domain.Length == 0)
            {
                throw Bad(text, "the domain before ';' is empty");
            }
        }
        if (user is { Length: 0 })
        {
            throw Bad(text, "the user name before '@' is empty");
        }
        CheckLogin(text, "domain", domain);
        CheckLogin(text, "user name", user);
        if (path.Length == 0)
        {
            throw Bad(text, "the share is missing: smb://user@host[:port]/share/path");
        }
        if (path[0].Contains(','))
        {
            // mount.cifs copies the share into its unc= option: a comma would start options of the URL's choosing.
            throw Bad(text, $"the share name '{path[0]}' may not hold ','");
        }
        return new StoreLocation(StoreKind.Smb, JoinPath(path[1..]), host, port, user, domain, path[0], Version: version);
    }

    private static StoreLocation ParseNfs(string text, string rest, string? version)
    {
        var (userInfo, host, port, path) = SplitAuthority(text, rest);
        if (userInfo is not null)
        {
            throw Bad(text, "nfs:// takes no user name: NFS trusts the client machine, not a login");
        }
        if (path.Length == 0)
        {
            throw Bad(text, "the export's path is missing: nfs://host[:port]/export/path");
        }
        return new StoreLocation(StoreKind.Nfs, JoinPath(path), host, port, Version: version);
    }

    private static StoreLocation ParseSsh(string text, string rest)
    {
        var (user, host, port, path) = SplitAuthority(text, rest);
        if (string.IsNullOrEmpty(user))
        {
            throw Bad(text, "the user name is missing: ssh://user@host[:port]/path");
        }
        CheckLogin(text, "user name", user);
        return new StoreLocation(StoreKind.Ssh, JoinPath(path), host, port, user);
    }

    private static StoreLocation ParseS3(string text, string rest, S3Addressing s3)
    {
        var (accessKey, host, port, path) = SplitAuthority(text, rest);
        if (accessKey is { Length: 0 })
        {
            throw Bad(text, "the access key before '@' is empty");
        }
        if (path.Length == 0)
        {
            throw Bad(text, "the bucket is missing: s3://[access-key@]host[:port]/bucket/prefix");
        }
        // S3's bucket naming rules: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter
        // or digit; a bucket named so is also a valid host name label for virtual-host style.
        string bucket = path[0];
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-')
            || !char.IsAsciiLetterOrDigit(bucket[0]) || !char.IsAsciiLetterOrDigit(bucket[^1]))
        {
            throw Bad(text, $"'{bucket}' is not a bucket name (3 to 63 lower-case letters, digits, '.' and '-')");
        }
        return new StoreLocation(StoreKind.S3, JoinPath(path[1..]), host, port, accessKey, Share: bucket, S3: s3);
    }

    private static (string? UserInfo, string Host, int? Port, string[] Path) SplitAuthority(string text, string rest)
    {
        int slash = rest.IndexOf('/');
        string authority = slash < 0 ? rest : rest[..slash];
        string[] path = slash < 0 ? [] : Segments(text, rest[(slash + 1)..]);
        string? userInfo = null;
        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            userInfo = Unescape(text, authority[..at]);
            authority = authority[(at + 1)..];
            if (userInfo.Contains(':'))
            {
                throw Bad(text, "a password does not belong in the URL (it would show in process lists and logs); " +
                    "use --password-file FILE or LIVEIMAGER_PASSWORD");
            }
        }
        string host;
        int? port = null;
        string portText = "";
        if (authority.StartsWith('['))
        {
            int close = authority.IndexOf(']');
            if (close < 0)
            {
                throw Bad(text, "the IPv6 address has no closing ']'");
            }
            host = authority[1..close];
            portText = authority[(close + 1)..];
        }
        else
        {
            int colon = authority.IndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? "" : authority[colon..];
        }
        if (portText.Length > 0)
        {
            if (!portText.StartsWith(':') || !int.TryParse(portText[1..], NumberStyles.None, CultureInfo.InvariantCulture, out int number)
                || number is < 1 or > 65535)
            {
                throw Bad(text, $"the port '{portText.TrimStart(':')}' is not a number from 1 to 65535");
            }
            port = number;
        }
        if (host.Length == 0)
        {
            throw Bad(text, "the host name is missing");
        }
        if (!host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' || (c == '%' && authority.StartsWith('['))))
        {
            throw Bad(text, $"the host name '{host}' holds a character a host name cannot have");
        }
        if (host.StartsWith('-'))
        {
            // It reaches ssh, sshfs and mount as an argument: never as an option.
            throw Bad(text, $"the host name '{host}' may not start with '-'");
        }
        return (userInfo, host, port, path);
    }

    /// <summary>A user or domain name goes to tools as an argument or into a credentials file: never an option.</summary>
    private static void CheckLogin(string text, string field, string? value)
    {
        if (value is not null && (value.StartsWith('-') || value.Contains(',')))
        {
            throw Bad(text, $"the {field} '{value}' may not start with '-' or hold ','");
        }
    }

    /// <summary>The decoded segments of <paramref name="path"/> (the text after the first '/', split on '/', one
    /// trailing '/' allowed). Decoding comes first and every decoded segment is checked, so no escape (<c>%2F</c>,
    /// <c>%2e%2e</c>) can smuggle in a '/', '.', '..' or an empty segment that the mounter would join onto its
    /// mount point.</summary>
    private static string[] Segments(string text, string path)
    {
        if (path.Length == 0)
        {
            return [];
        }
        string[] raw = path.Split('/');
        if (raw.Length > 1 && raw[^1].Length == 0)
        {
            raw = raw[..^1];
        }
        var segments = new string[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            string segment = Unescape(text, raw[i]);
            if (segment.Length == 0)
            {
                throw Bad(text, "the path holds an empty segment ('//')");
            }
            if (segment is "." or "..")
            {
                throw Bad(text, $"the path may not hold '{segment}'");
            }
            if (segment.Contains('/'))
            {
                throw Bad(text, $"the path segment '{raw[i]}' decodes to '{segment}': a '/' may not be escaped");
            }
            segments[i] = segment;
        }
        return segments;
    }

    private static string JoinPath(string[] segments) => "/" + string.Join('/', segments);

    /// <summary>The query's options, joined by '&amp;': <c>vers=</c> (smb://, nfs://), <c>hostkey=</c> (ssh://),
    /// <c>region=</c>, <c>tls=0</c> and <c>style=virtual|path</c> (s3://).</summary>
    private static (string? Version, string? HostKey, S3Addressing S3) ParseQuery(string text, string scheme, string query)
    {
        string? version = null;
        string? hostKey = null;
        var s3 = new S3Addressing();
        foreach (string option in query.Split('&'))
        {
            if (option.StartsWith("vers=", StringComparison.Ordinal))
            {
                version = ParseVersion(text, scheme, option["vers=".Length..]);
            }
            else if (option.StartsWith("hostkey=", StringComparison.Ordinal))
            {
                hostKey = ParseHostKey(text, scheme, option["hostkey=".Length..]);
            }
            else if (scheme == "s3" && option.StartsWith("region=", StringComparison.Ordinal))
            {
                string region = option["region=".Length..];
                if (region.Length is 0 or > 64 || !region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
                {
                    throw Bad(text, $"region={region} is not a region name (lower-case letters, digits and '-', as us-east-1)");
                }
                s3 = s3 with { Region = region };
            }
            else if (scheme == "s3" && option is "tls=0" or "tls=1")
            {
                s3 = s3 with { PlainHttp = option == "tls=0" };
            }
            else if (scheme == "s3" && option is "style=virtual" or "style=path")
            {
                s3 = s3 with { VirtualHost = option == "style=virtual" };
            }
            else
            {
                throw Bad(text, scheme == "s3"
                    ? $"the query options of s3:// are region=, tls=0 and style=virtual, not '{option}'"
                    : $"the query options are vers= (the protocol version) and hostkey= (the SSH host key), not '{option}'");
            }
        }
        return (version, hostKey, s3);
    }

    private static string ParseVersion(string text, string scheme, string version)
    {
        string[] known = scheme switch
        {
            "smb" or "cifs" => s_smbVersions,
            "nfs" => s_nfsVersions,
            _ => throw Bad(text, $"vers= applies to smb:// and nfs:// only"),
        };
        if (!known.Contains(version))
        {
            throw Bad(text, $"vers={version} is not one of {string.Join(", ", known)}");
        }
        return version;
    }

    private static string ParseHostKey(string text, string scheme, string fingerprint)
    {
        if (scheme is not ("ssh" or "sftp"))
        {
            throw Bad(text, "hostkey= applies to ssh:// only");
        }
        if (!SshHostKeys.IsFingerprint(fingerprint))
        {
            throw Bad(text, $"hostkey={fingerprint} is not a SHA256 fingerprint as `ssh-keygen -lf KEY.pub` prints it (SHA256: and 43 base64 characters)");
        }
        return fingerprint;
    }

    private static string Unescape(string text, string part)
    {
        string value = Uri.UnescapeDataString(part);
        if (value.Any(char.IsControl))
        {
            throw Bad(text, "an escaped control character is not allowed");
        }
        return value;
    }

    private static StoreException Bad(string text, string why) =>
        new(StoreProblem.BadLocation, $"'{Redact(text)}' is not an image location: {why}. Give {Forms}.");

    /// <summary>The text with anything between "user:" and "@" starred out, so a password typed into a URL by
    /// mistake is not repeated in the error message and the log.</summary>
    private static string Redact(string text)
    {
        int start = text.IndexOf("://", StringComparison.Ordinal) + 3;
        int at = start >= 3 ? text.IndexOf('@', start) : -1;
        int colon = at > 0 ? text.IndexOf(':', start, at - start) : -1;
        return colon < 0 ? text : text[..(colon + 1)] + "***" + text[at..];
    }
}
