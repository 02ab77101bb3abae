namespace LiveImager.Engine.Targets;

/// <summary>One run of a mount tool: the program, its arguments (never a secret) and what to write to its standard
/// input (the sshfs password, or nothing).</summary>
public sealed record MountCommand(string Tool, IReadOnlyList<string> Arguments, string? StandardInput = null)
{
    /// <summary>The command line as a person would type it, for logs and messages.</summary>
    public override string ToString() => Tool + " " + string.Join(' ', Arguments);
}

/// <summary>What a tool printed and returned.</summary>
public sealed record ToolOutput(int ExitCode, string StandardError);

/// <summary>Runs a <see cref="MountCommand"/>; the real one is <see cref="StoreTools.Run"/>.</summary>
public delegate ToolOutput MountRunner(MountCommand command);
