using System.CommandLine;
using LiveImager.Engine.Targets;

namespace LiveImager.Cli;

/// <summary>The options every verb that takes a store URL shares: how to log in (never a password on the command line).</summary>
/// <param name="environment">Where <c>LIVEIMAGER_PASSWORD</c> is looked up; an unattended run adds its conf file's password.</param>
internal sealed class StoreCliOptions(Func<string, string?>? environment = null)
{
    private readonly Option<string?> _passwordFile = new("--password-file")
    {
        Description = $"Read the store's password from the first line of this file (else from ${StoreCredentials.PasswordVariable})",
    };

    private readonly Option<string?> _identityFile = new("--identity-file") { Description = "SSH private key for ssh:// stores" };

    private readonly Option<string?> _caFile = new("--ca-file") { Description = "s3:// stores: trust this PEM CA certificate (a lab's own CA) for the server" };

    public void AddTo(Command command)
    {
        command.Options.Add(_passwordFile);
        command.Options.Add(_identityFile);
        command.Options.Add(_caFile);
    }

    /// <summary>The store options for this invocation; <paramref name="excludedDisks"/> may never serve as a store.</summary>
    public StoreOptions Build(ParseResult parse, params string[] excludedDisks) => new()
    {
        Credentials = StoreCredentials.From(parse.GetValue(_passwordFile), parse.GetValue(_identityFile), environment),
        ExcludedDisks = excludedDisks,
        CaFile = parse.GetValue(_caFile) is { } ca ? Path.GetFullPath(ca) : null,
    };
}
