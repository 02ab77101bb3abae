using System.CommandLine;
using LiveImager.Cli;
using LiveImager.Engine.Logging;
using Serilog;

namespace LiveImager;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            // The TUI arrives with its own issue; until then the bare binary explains itself.
            args = ["--help"];
        }
        Log.Logger = LogSetup.CreateLogger(LogSetup.ResolveDirectory());
        try
        {
            // The verb only: arguments may one day carry share names or paths a log should not keep.
            Log.Information("liveimager {Version} started: {Verb}", typeof(Program).Assembly.GetName().Version?.ToString(), args[0]);
            RootCommand root = CliApp.CreateRootCommand();
            int exitCode = root.Parse(args).Invoke();
            Log.Information("liveimager finished with exit code {ExitCode}", exitCode);
            return exitCode;
        }
        finally
        {
            Log.CloseAndFlush();
        }
    }
}
