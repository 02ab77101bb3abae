using System.CommandLine;
using LiveImager.Cli;
using LiveImager.Engine.Logging;
using LiveImager.Engine.Targets;
using LiveImager.Tui;
using Serilog;

namespace LiveImager;

internal static class Program
{
    private static int Main(string[] args)
    {
        PrivateFiles.RestrictUmask();
        string logDirectory = LogSetup.ResolveDirectory();
        Log.Logger = LogSetup.CreateLogger(logDirectory);
        try
        {
            // The verb only: arguments may one day carry share names or paths a log should not keep.
            string mode = args.Length == 0 ? "tui" : args[0];
            Log.Information("liveimager {Version} started: {Verb}", typeof(Program).Assembly.GetName().Version?.ToString(), mode);
            int exitCode = args.Length == 0
                ? TuiApp.Run(TuiServices.ForThisBuild(logDirectory))
                : CliApp.Run(args);
            Log.Information("liveimager finished with exit code {ExitCode}", exitCode);
            return exitCode;
        }
        finally
        {
            Log.CloseAndFlush();
        }
    }
}
