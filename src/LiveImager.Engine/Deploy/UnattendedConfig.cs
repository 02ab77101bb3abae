using LiveImager.Engine.Devices;

namespace LiveImager.Engine.Deploy;

/// <summary>What follows an unattended job.</summary>
public enum AfterJob
{
    PowerOff,
    Reboot,
    Shell,
}

/// <summary>The one unattended job of this boot, from the kernel command line (<c>liveimager.run=</c>,
/// <c>liveimager.after=</c>, <c>liveimager.fit=</c>) and the conf file (<c>run</c>, <c>after</c>, <c>password</c>, <c>passphrase</c>,
/// <c>fit</c>); the command line wins key by key (docs/unattended.md).</summary>
/// <param name="Line">The job line as written (it holds no password: those never go on a command line).</param>
/// <param name="Arguments">The job line split into the verb and its arguments.</param>
/// <param name="Password">The store password from the conf file; null when none.</param>
/// <param name="Passphrase">An encrypted image's passphrase from the conf file (for <c>capture --encrypt</c> and for reading
/// one); null when none. Like the password, only the conf file holds it: never the kernel command line.</param>
/// <param name="Fit">A restore job runs as <c>restore --fit</c>: onto a target smaller than the image needs, its partitions
/// shrunk when the data fits (docs/restore-fit.md); ignored by capture and verify.</param>
public sealed record UnattendedConfig(string Line, IReadOnlyList<string> Arguments, AfterJob After, string? Password, string? Passphrase = null,
    bool Fit = false)
{
    /// <summary>The kernel command line's job parameter.</summary>
    public const string RunParameter = "liveimager.run";

    /// <summary>The kernel command line's after-the-job parameter.</summary>
    public const string AfterParameter = "liveimager.after";

    /// <summary>The kernel command line's fit parameter.</summary>
    public const string FitParameter = "liveimager.fit";

    /// <summary>Where the live system copies the boot stick's liveimager.conf.</summary>
    public const string DefaultConfFile = "/run/liveimager/liveimager.conf";

    /// <summary>The verbs a job line may start with.</summary>
    public static readonly IReadOnlyList<string> Verbs = ["capture", "restore", "verify"];

    private static readonly string[] s_confKeys = ["run", "after", "password", "passphrase", "fit"];

    // A conf file is a few lines; anything bigger is not one.
    private const long MaxConfBytes = 64 * 1024;

    public string Verb => Arguments[0];

    /// <summary>The job configured, or null when neither source names one.</summary>
    /// <exception cref="UnattendedConfigException">A source is unreadable or malformed (a mistyped key among them), or
    /// the job is not allowed; it carries the job as far as it was read.</exception>
    public static UnattendedConfig? Load(KernelCommandLine commandLine, string confFile)
    {
        var problems = new List<string>();
        Dictionary<string, (string Value, string Origin)> conf = ReadConf(confFile, problems);
        (string Value, string Origin)? run = commandLine[RunParameter] is { } cmdRun
            ? (cmdRun, $"{RunParameter} (kernel command line)")
            : conf.TryGetValue("run", out var confRun) ? confRun : null;
        if (run is null || string.IsNullOrWhiteSpace(run.Value.Value))
        {
            // A mistyped 'run' key must not read as "nothing configured" and start the TUI unnoticed.
            return problems.Count > 0 ? throw new UnattendedConfigException(string.Join("; ", problems)) : null;
        }
        (string Value, string Origin) after = commandLine[AfterParameter] is { } cmdAfter
            ? (cmdAfter, $"{AfterParameter} (kernel command line)")
            : conf.TryGetValue("after", out var confAfter) ? confAfter : ("poweroff", "default");
        (string Value, string Origin) fit = commandLine[FitParameter] is { } cmdFit
            ? (cmdFit, $"{FitParameter} (kernel command line)")
            : conf.TryGetValue("fit", out var confFit) ? confFit : ("no", "default");
        string? password = conf.TryGetValue("password", out var confPassword) ? confPassword.Value : null;
        string? passphrase = conf.TryGetValue("passphrase", out var confPassphrase) ? confPassphrase.Value : null;

        var (line, origin) = run.Value;
        IReadOnlyList<string> arguments = JobLine.Split(line, origin);
        if (arguments.Count == 0)
        {
            return problems.Count > 0 ? throw new UnattendedConfigException(string.Join("; ", problems)) : null;
        }
        if (!Verbs.Contains(arguments[0]))
        {
            problems.Add($"{origin}: '{arguments[0]}' cannot run unattended; a job is one of {string.Join(", ", Verbs)}: {line}");
        }
        else if (arguments[0] == "restore" && !arguments.Contains("--yes"))
        {
            problems.Add($"{origin}: an unattended restore overwrites its targets without asking; say so with --yes: {line}");
        }
        AfterJob? afterJob = ParseAfter(after.Value);
        if (afterJob is null)
        {
            problems.Add($"{after.Origin}: after = '{after.Value}' is not poweroff, reboot or shell");
        }
        bool? fitJob = fit.Value switch
        {
            "yes" => true,
            "no" => false,
            _ => null,
        };
        if (fitJob is null)
        {
            problems.Add($"{fit.Origin}: fit = '{fit.Value}' is not yes or no");
        }
        var job = new UnattendedConfig(line.Trim(), arguments, afterJob ?? AfterJob.PowerOff, password, passphrase, fitJob ?? false);
        return problems.Count > 0 ? throw new UnattendedConfigException(string.Join("; ", problems), job) : job;
    }

    private static AfterJob? ParseAfter(string value) => value switch
    {
        "poweroff" => AfterJob.PowerOff,
        "reboot" => AfterJob.Reboot,
        "shell" => AfterJob.Shell,
        _ => null,
    };

    /// <summary>key → (value, "FILE line N"); a missing file is an empty conf.</summary>
    /// <param name="problems">Gets a line that is not a known 'key = value', with the closest key.</param>
    private static Dictionary<string, (string Value, string Origin)> ReadConf(string path, List<string> problems)
    {
        var values = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        string[] lines;
        try
        {
            if (!File.Exists(path))
            {
                return values;
            }
            if (new FileInfo(path).Length > MaxConfBytes)
            {
                throw new UnattendedConfigException($"{path}: {new FileInfo(path).Length} bytes is too big for a conf file (at most {MaxConfBytes})");
            }
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UnattendedConfigException($"{path}: cannot be read: {e.Message}");
        }
        for (int number = 1; number <= lines.Length; number++)
        {
            string text = lines[number - 1].Trim();
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }
            string origin = $"{path} line {number}";
            int equals = text.IndexOf('=');
            if (equals < 0)
            {
                problems.Add($"{origin}: expected 'key = value' (keys: {string.Join(", ", s_confKeys)})");
                continue;
            }
            string key = text[..equals].Trim();
            if (!s_confKeys.Contains(key))
            {
                string hint = Spelling.Closest(key, s_confKeys) is { } closest ? $"; did you mean '{closest}'?" : "";
                problems.Add($"{origin}: unknown key '{key}' (keys: {string.Join(", ", s_confKeys)}){hint}");
                continue;
            }
            values[key] = (text[(equals + 1)..].Trim(), origin);
        }
        return values;
    }
}
