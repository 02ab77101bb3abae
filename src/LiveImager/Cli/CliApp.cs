using System.CommandLine;

namespace LiveImager.Cli;

/// <summary>The verbs of the command line, registered explicitly.</summary>
internal static class CliApp
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("LiveImager: capture, restore and verify whole-disk images.");
        root.Subcommands.Add(ListCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(CaptureCommand.Create());
        root.Subcommands.Add(RestoreCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(ImagesCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(ConsolidateCommand.Create());
        root.Subcommands.Add(UnattendedCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(MulticastCommand.Create());
        root.Subcommands.Add(PxeServerCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(MountCommand.Create());
        root.Subcommands.Add(MountCommand.CreateUnmount());
        return root;
    }

    /// <summary>Parses <paramref name="args"/>, refuses a wrong command line with exit code 2 before anything runs,
    /// and otherwise runs the verb.</summary>
    public static int Run(string[] args)
    {
        ParseResult parse = CreateRootCommand().Parse(args, CliUsage.Configuration);
        IReadOnlyList<string> problems = CliUsage.Problems(parse);
        if (problems.Count > 0)
        {
            CliUsage.Report(parse, problems, parse.InvocationConfiguration.Error);
            return CliErrors.Usage;
        }
        return parse.Invoke();
    }
}
