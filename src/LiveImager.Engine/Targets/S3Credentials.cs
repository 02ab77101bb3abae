namespace LiveImager.Engine.Targets;

/// <summary>The access key and secret of an s3:// store. The access key: the URL's user part, else
/// <c>AWS_ACCESS_KEY_ID</c>, else the AWS credentials file. The secret: <c>--password-file</c> or
/// <c>LIVEIMAGER_PASSWORD</c>, else <c>AWS_SECRET_ACCESS_KEY</c>, else the credentials file
/// (<c>AWS_SHARED_CREDENTIALS_FILE</c> or <c>~/.aws/credentials</c>, profile <c>AWS_PROFILE</c> or <c>default</c>).
/// Never from the command line. Temporary credentials add a session token, taken from where the secret came from:
/// <c>AWS_SESSION_TOKEN</c> (also beside a secret from <c>--password-file</c>), or the profile's
/// <c>aws_session_token</c>.</summary>
public sealed record S3Credentials(string AccessKey, string SecretKey, string? SessionToken = null)
{
    public const string AccessKeyVariable = "AWS_ACCESS_KEY_ID";
    public const string SecretVariable = "AWS_SECRET_ACCESS_KEY";
    public const string SessionTokenVariable = "AWS_SESSION_TOKEN";

    /// <summary>What a person sees: the access key only.</summary>
    public override string ToString() => AccessKey;

    public static S3Credentials Resolve(StoreLocation location, StoreCredentials given, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        IReadOnlyDictionary<string, string>? profile = null;
        IReadOnlyDictionary<string, string> Profile() => profile ??= ReadProfile(environment);
        string? accessKey = location.User ?? NonEmpty(environment(AccessKeyVariable)) ?? Profile().GetValueOrDefault("aws_access_key_id");
        string? secret = NonEmpty(given.Password) ?? NonEmpty(environment(SecretVariable));
        string? token = NonEmpty(environment(SessionTokenVariable));
        if (secret is null)
        {
            secret = Profile().GetValueOrDefault("aws_secret_access_key");
            token = NonEmpty(Profile().GetValueOrDefault("aws_session_token"));
        }
        if (accessKey is null)
        {
            throw new StoreException(StoreProblem.LoginRefused, $"{location}: no access key: put it in the URL (s3://ACCESS-KEY@host/bucket), " +
                $"or set {AccessKeyVariable}, or an AWS credentials file");
        }
        if (secret is null)
        {
            throw new StoreException(StoreProblem.LoginRefused, $"{location}: no secret key for access key {accessKey}: give --password-file FILE, " +
                $"or set {StoreCredentials.PasswordVariable} or {SecretVariable}, or an AWS credentials file");
        }
        return new S3Credentials(accessKey, secret, token);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The keys of the named profile in the AWS credentials file (an INI file: <c>[name]</c>, then
    /// <c>key = value</c> lines); empty when there is no such file or profile. At most 1 MiB is read.</summary>
    private static IReadOnlyDictionary<string, string> ReadProfile(Func<string, string?> environment)
    {
        string? file = NonEmpty(environment("AWS_SHARED_CREDENTIALS_FILE"))
            ?? (NonEmpty(environment("HOME")) is { } home ? Path.Combine(home, ".aws", "credentials") : null);
        string name = NonEmpty(environment("AWS_PROFILE")) ?? "default";
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        if (file is null || !File.Exists(file) || new FileInfo(file).Length > 1 << 20)
        {
            return keys;
        }
        bool inProfile = false;
        foreach (string raw in File.ReadLines(file))
        {
            string line = raw.Trim();
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                inProfile = line[1..^1].Trim() == name;
            }
            else if (inProfile && line.IndexOf('=') is int equals and > 0 && !line.StartsWith('#') && !line.StartsWith(';'))
            {
                keys[line[..equals].Trim().ToLowerInvariant()] = line[(equals + 1)..].Trim();
            }
        }
        return keys;
    }
}
