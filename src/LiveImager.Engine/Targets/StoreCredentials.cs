namespace LiveImager.Engine.Targets;

/// <summary>How to log in to a store: a password (from a file or <c>LIVEIMAGER_PASSWORD</c>, never the command
/// line) and/or an SSH private key.</summary>
public sealed class StoreCredentials
{
    /// <summary>The environment variable scripts may set instead of <c>--password-file</c>.</summary>
    public const string PasswordVariable = "LIVEIMAGER_PASSWORD";

    public StoreCredentials(string? password = null, string? identityFile = null)
    {
        if (password is not null && password.IndexOfAny(['\n', '\r', '\0']) >= 0)
        {
            throw new StoreException(StoreProblem.LoginRefused, "the password holds a line break or NUL, which no mount tool can pass on");
        }
        Password = password;
        IdentityFile = identityFile;
    }

    public static StoreCredentials None { get; } = new();

    public string? Password { get; }

    /// <summary>An SSH private key file, passed to ssh as <c>IdentityFile</c>.</summary>
    public string? IdentityFile { get; }

    /// <summary>The password from <paramref name="passwordFile"/> (its first line) if given, else from
    /// <c>LIVEIMAGER_PASSWORD</c> if set; plus the key file if given.</summary>
    public static StoreCredentials From(string? passwordFile, string? identityFile, Func<string, string?>? environment = null)
    {
        string? password;
        if (passwordFile is not null)
        {
            try
            {
                password = File.ReadAllText(passwordFile).Split('\n')[0].TrimEnd('\r');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StoreException(StoreProblem.LoginRefused, $"cannot read the password file {passwordFile}: {e.Message}", e);
            }
        }
        else
        {
            password = (environment ?? Environment.GetEnvironmentVariable)(PasswordVariable);
        }
        if (identityFile is not null && !File.Exists(identityFile))
        {
            throw new StoreException(StoreProblem.LoginRefused, $"the SSH key file {identityFile} does not exist");
        }
        // ssh runs under sshfs's daemon, whose working directory is not ours: a relative key path would name nothing.
        return new StoreCredentials(password, identityFile is null ? null : Path.GetFullPath(identityFile));
    }
}
