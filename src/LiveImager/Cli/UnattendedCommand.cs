using System.CommandLine;
using System.CommandLine.Parsing;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Logging;
using LiveImager.Engine.Targets;
using Serilog;

namespace LiveImager.Cli;

/// <summary><c>liveimager unattended [--cmdline FILE] [--conf FILE] [--no-power]</c>: the one job the boot entry or the
/// stick's liveimager.conf names, run through the same verbs as the command line (docs/unattended.md).</summary>
internal static class UnattendedCommand
{
    public const int BadConfiguration = 2;
    public const int NothingConfigured = 3;
    private const string Name = "liveimager unattended";

    public static Command Create()
    {
        var commandLine = new Option<string>("--cmdline")
        {
            Description = "The kernel command line to read liveimager.run= and liveimager.after= from",
            DefaultValueFactory = _ => KernelCommandLine.ProcPath,
        };
        var conf = new Option<string>("--conf")
        {
            Description = "The conf file (run = …, after = …, password = …); the kernel command line wins key by key",
            DefaultValueFactory = _ => UnattendedConfig.DefaultConfFile,
        };
        var noPower = new Option<bool>("--no-power") { Description = "Do not power off or reboot afterwards, whatever after= says" };
        var stateDirectory = new Option<string>("--state-dir")
        {
            Description = "Where the marker unattended.done is kept (tests)",
            DefaultValueFactory = _ => UnattendedRunner.DefaultStateDirectory,
            Hidden = true,
        };
        var command = new Command("unattended",
            "Run the job liveimager.run= or liveimager.conf names, once per boot; exit 3 when there is none") { commandLine, conf, noPower, stateDirectory };
        command.SetAction(parse => Run(parse.GetRequiredValue(commandLine), parse.GetRequiredValue(conf), parse.GetRequiredValue(stateDirectory),
            parse.GetValue(noPower) ? new NoPower() : new SystemdPower(), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string commandLineFile, string confFile, string stateDirectory, IPowerAction power, TextWriter output, TextWriter error)
    {
        UnattendedConfig? config;
        try
        {
            config = UnattendedConfig.Load(KernelCommandLine.Read(commandLineFile), confFile);
        }
        catch (UnattendedConfigException e)
        {
            return Refuse(e.Message, e.Job, stateDirectory, output, error);
        }
        if (config is null)
        {
            return NothingConfigured;
        }

        // The conf file's password and passphrase stand in for $LIVEIMAGER_PASSWORD and $LIVEIMAGER_PASSPHRASE; they never
        // become an argument, a child's environment or a log line.
        Func<string, string?> environment = EnvironmentOf(config);
        var hooks = new JobHooks(environment);
        ParseResult job = ParseJob(config, hooks);
        IReadOnlyList<string> problems = CliUsage.Problems(job);
        if (problems.Count > 0)
        {
            return Refuse($"the job '{config.Line}' does not parse: {string.Join("; ", problems)}", config, stateDirectory, output, error);
        }
        string image = job.GetValue<string>("image")!;
        if (image == "-")
        {
            error.WriteLine($"{Name}: the job '{config.Line}' names standard input or output as its image; name a file or store URL");
            return BadConfiguration;
        }
        try
        {
            // The verbs check the same again; here a mistyped disk name is refused before the marker is claimed.
            DiskPath.CheckAll(Disks(config.Verb, job), config.Verb == "capture" ? DiskRole.Source
                : config.Verb == "restore" ? DiskRole.RestoreTarget : DiskRole.Comparison);
        }
        catch (DiskPathException e)
        {
            return Refuse($"the job '{config.Line}': {e.Message}", config, stateDirectory, output, error);
        }

        var runner = new UnattendedRunner(stateDirectory, LogSetup.ResolveDirectory());
        if (!runner.TryClaim(config.Line))
        {
            error.WriteLine($"{Name}: the job already ran in this boot ({runner.MarkerPath}); not running it again");
            return NothingConfigured;
        }
        output.WriteLine($"{Name}: running {config.Line}");
        UnattendedReport report = runner.Run(config, image,
            StoreOptionsOf(job, environment),
            () => new UnattendedJobOutcome(job.Invoke(), hooks.Error, hooks.Figures));

        UnattendedResult result = report.Result;
        output.WriteLine(report.StoreProblem is null
            ? $"{Name}: results in {report.ResultFile}"
            : $"{Name}: the results could not go to the store ({report.StoreProblem}); they are in {report.ResultFile}");
        output.WriteLine(result.Ok
            ? $"{Name}: OK: {config.Line}: {ByteSize.Format(result.DataBytes)} in {result.Seconds:F1} s ({result.MegabytesPerSecond:F1} MB/s)"
            : $"{Name}: FAILED: {result.Error}");
        if (config.After != AfterJob.Shell)
        {
            output.WriteLine(power is NoPower
                ? $"{Name}: --no-power: not carrying out after = {config.After.ToString().ToLowerInvariant()}"
                : $"{Name}: {(config.After == AfterJob.Reboot ? "rebooting" : "powering off")}");
            output.Flush();
            power.Perform(config.After);
        }
        return result.Ok ? 0 : 1;
    }

    /// <summary>Refuses a job before it runs: the reason on the console and in the log, and, when the job names an image,
    /// a results file (exit code 2) with the log beside it on that image's store, where the technician collects the
    /// results of a room; nothing is claimed, so a corrected configuration runs in the same boot.</summary>
    private static int Refuse(string reason, UnattendedConfig? config, string stateDirectory, TextWriter output, TextWriter error)
    {
        error.WriteLine($"{Name}: {reason}");
        Log.Error("Unattended job refused before it ran: {Reason}", reason);
        if (config is null || !UnattendedConfig.Verbs.Contains(config.Verb))
        {
            return BadConfiguration;
        }
        Func<string, string?> environment = EnvironmentOf(config);
        ParseResult job = ParseJob(config, new JobHooks(environment));
        // A mistyped option can have taken the image's place; it names no store.
        string? image = job.CommandResult.Children.OfType<ArgumentResult>().FirstOrDefault(a => a.Argument.Name == "image")?.Tokens
            .FirstOrDefault()?.Value;
        if (image is null || image.StartsWith('-'))
        {
            return BadConfiguration;
        }
        var runner = new UnattendedRunner(stateDirectory, LogSetup.ResolveDirectory());
        UnattendedReport report = runner.Run(config, image, StoreOptionsOf(job, environment),
            () => new UnattendedJobOutcome(BadConfiguration, $"refused, nothing was run: {reason}", null));
        output.WriteLine(report.StoreProblem is null
            ? $"{Name}: REFUSED: nothing was run; the reason is in {report.ResultFile}"
            : $"{Name}: REFUSED: nothing was run; the reason could not go to the store ({report.StoreProblem}); it is in {report.ResultFile}");
        return BadConfiguration;
    }

    private static Func<string, string?> EnvironmentOf(UnattendedConfig config) => name =>
        name == StoreCredentials.PasswordVariable && config.Password is { } password ? password
        : name == PassphraseSource.Variable && config.Passphrase is { } passphrase ? passphrase
        : Environment.GetEnvironmentVariable(name);

    private static ParseResult ParseJob(UnattendedConfig config, JobHooks hooks)
    {
        var verbs = new RootCommand { CaptureCommand.Create(hooks), RestoreCommand.Create(hooks), VerifyCommand.Create(hooks) };
        // fit = yes makes a restore job a --fit one, as if the job line said so.
        string[] arguments = config.Fit && config.Verb == "restore" && !config.Arguments.Contains("--fit")
            ? [.. config.Arguments, "--fit"]
            : [.. config.Arguments];
        return verbs.Parse(arguments, CliUsage.Configuration);
    }

    private static Func<StoreOptions> StoreOptionsOf(ParseResult job, Func<string, string?> environment) => () => new StoreOptions
    {
        Credentials = StoreCredentials.From(OptionValue(job, "--password-file"), OptionValue(job, "--identity-file"), environment),
    };

    /// <summary>The disks the job reads or writes: capture's source, restore's targets, verify's --against.</summary>
    private static IEnumerable<string> Disks(string verb, ParseResult job) => verb switch
    {
        "capture" => [job.GetValue<string>("source")!],
        "restore" => job.GetValue<string[]>("target") ?? [],
        _ => OptionValue(job, "--against") is { } against ? [against] : [],
    };

    /// <summary>An option's value read without conversion, so that a job line that did not parse still names its store.</summary>
    private static string? OptionValue(ParseResult job, string name) =>
        job.CommandResult.Children.OfType<OptionResult>().FirstOrDefault(o => o.Option.Name == name)?.Tokens.FirstOrDefault()?.Value;
}
