using System.CommandLine;

namespace LiveImager.Cli;

/// <summary>The verbs of the command line, registered explicitly.</summary>
internal static class CliApp
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("LiveImager: capture, restore and verify whole-disk images.");
        root.Add(InspectCommand.Create());
        root.Add(CaptureCommand.Create());
        root.Add(RestoreCommand.Create());
        root.Add(VerifyCommand.Create());
        root.Add(InfoCommand.Create());
        return root;
    }
}
