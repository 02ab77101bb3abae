using System.Diagnostics;

namespace LiveImager.Engine.Targets;

/// <summary>Runs the mount tools for real: arguments as a list (no shell), the secret only on standard input.</summary>
public static class StoreTools
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    /// <summary>The tool's full path on PATH or in the sbin directories, or null.</summary>
    public static string? Find(string tool)
    {
        string path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(':').Concat(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
            .Where(dir => dir.Length > 0)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Runs <paramref name="command"/> and waits for it (sshfs returns once mounted, its daemon detached).</summary>
    public static ToolOutput Run(MountCommand command)
    {
        string program = Find(command.Tool)
            ?? throw new StoreException(StoreProblem.Unsupported, $"{command.Tool} is not installed; it is needed to mount this store");
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in command.Arguments)
        {
            info.ArgumentList.Add(argument);
        }
        // Tools print their errors in English only when asked to, and the error mapping reads English.
        info.Environment["LC_ALL"] = "C";
        using Process process = Process.Start(info) ?? throw new StoreException(StoreProblem.Unsupported, $"cannot start {program}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        try
        {
            if (command.StandardInput is not null)
            {
                process.StandardInput.Write(command.StandardInput);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The tool exited before reading its input; its exit code and message say why.
        }
        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            return new ToolOutput(-1, $"{command.Tool} timed out after {s_timeout.TotalSeconds:F0} s");
        }
        // A daemon that kept our pipes open must not hang us: give the readers a moment, no more.
        Task.WaitAll([output, error], TimeSpan.FromSeconds(5));
        string text = (error.IsCompleted ? error.Result : string.Empty) + (output.IsCompleted ? output.Result : string.Empty);
        return new ToolOutput(process.ExitCode, text);
    }
}
