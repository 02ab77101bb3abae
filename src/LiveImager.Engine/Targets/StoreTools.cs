using System.Diagnostics;

namespace LiveImager.Engine.Targets;

/// <summary>Runs the mount tools for real: arguments as a list (no shell), the secret only on standard input.</summary>
public static class StoreTools
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    /// <summary>Where tools are looked for, and the PATH their children get: the standard system directories only, never
    /// the inherited PATH, which may hold empty or relative entries (the working directory) or a directory on a stick.</summary>
    public static IReadOnlyList<string> SystemDirectories { get; } = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>Environment variables that carry secrets to this process; no child ever inherits them.</summary>
    public static IReadOnlyList<string> SecretVariables { get; } =
        [StoreCredentials.PasswordVariable, S3Credentials.SecretVariable, S3Credentials.SessionTokenVariable, Imaging.PassphraseSource.Variable];

    /// <summary>The tool's full path in <see cref="SystemDirectories"/>, or null.</summary>
    public static string? Find(string tool) => tool.Contains('/') ? null
        : SystemDirectories.Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);

    /// <summary>Prepares a child's environment: secrets removed (kept only for our own server, which logs in to the
    /// image's store itself), PATH the system directories.</summary>
    public static void Sanitize(ProcessStartInfo info, bool keepSecrets = false)
    {
        if (!keepSecrets)
        {
            foreach (string secret in SecretVariables)
            {
                info.Environment.Remove(secret);
            }
        }
        info.Environment["PATH"] = string.Join(':', SystemDirectories);
    }

    /// <summary>How every tool child is started: all three standard streams piped to us, the arguments as a list (no
    /// shell), the environment <see cref="Sanitize"/>d, and messages in English, since the error mapping reads English.</summary>
    public static ProcessStartInfo PipedStart(string program, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        Sanitize(info);
        info.Environment["LC_ALL"] = "C";
        return info;
    }

    /// <summary>Runs <paramref name="command"/> and waits for it (sshfs returns once mounted, its daemon detached).</summary>
    public static ToolOutput Run(MountCommand command)
    {
        string program = Find(command.Tool)
            ?? throw new StoreException(StoreProblem.Unsupported, $"{command.Tool} is not installed; it is needed to mount this store");
        ProcessStartInfo info = PipedStart(program, command.Arguments);
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
