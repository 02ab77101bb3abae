using System.CommandLine;
using LiveImager.Cli;

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
        RootCommand root = CliApp.CreateRootCommand();
        return root.Parse(args).Invoke();
    }
}
