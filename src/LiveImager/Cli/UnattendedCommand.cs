using System.CommandLine;
using LiveImager.Engine.Deploy;
using LiveImager.Engine.Devices;
using LiveImager.Engine.Logging;
using LiveImager.Engine.Targets;

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
            error.WriteLine($"{Name}: {e.Message}");
            return BadConfiguration;
        }
        if (config is null)
        {
            return NothingConfigured;
        }

        // The conf file's password stands in for $LIVEIMAGER_PASSWORD; it never becomes an argument or a log line.
        Func<string, string?> environment = name =>
            name == StoreCredentials.PasswordVariable && config.Password is { } password ? password : Environment.GetEnvironmentVariable(name);
        var hooks = new JobHooks(environment);
        var verbs = new RootCommand { CaptureCommand.Create(hooks), RestoreCommand.Create(hooks), VerifyCommand.Create(hooks) };
        ParseResult job = verbs.Parse(config.Arguments.ToArray());
        if (job.Errors.Count > 0)
        {
            error.WriteLine($"{Name}: the job '{config.Line}' does not parse: {string.Join("; ", job.Errors.Select(e => e.Message))}");
            return BadConfiguration;
        }
        string image = job.GetValue<string>("image")!;
        if (image == "-")
        {
            error.WriteLine($"{Name}: the job '{config.Line}' names standard input or output as its image; name a file or store URL");
            return BadConfiguration;
        }

        var runner = new UnattendedRunner(stateDirectory, LogSetup.ResolveDirectory());
        if (!runner.TryClaim(config.Line))
        {
            error.WriteLine($"{Name}: the job already ran in this boot ({runner.MarkerPath}); not running it again");
            return NothingConfigured;
        }
        output.WriteLine($"{Name}: running {config.Line}");
        UnattendedReport report = runner.Run(config, image,
            () => new StoreOptions
            {
                Credentials = StoreCredentials.From(job.GetValue<string?>("--password-file"), job.GetValue<string?>("--identity-file"), environment),
            },
            () => new JobOutcome(job.Invoke(), hooks.Error, hooks.Figures));

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
            power.Carry(config.After);
        }
        return result.Ok ? 0 : 1;
    }
}
