using System.CommandLine;

namespace LiveImager.Cli;

/// <summary>The verbs of the command line, registered explicitly.</summary>
internal static class CliApp
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("LiveImager: capture, restore and verify whole-disk images.");
        root.Add(InspectCommand.Create());
        return root;
    }
}
