using System.CommandLine;
using LiveImager.Cli;
using LiveImager.Tui;

namespace LiveImager;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            return TuiApp.Run(TuiServices.ForThisBuild());
        }
        RootCommand root = CliApp.CreateRootCommand();
        return root.Parse(args).Invoke();
    }
}
