using Xunit;
using System.Diagnostics;

namespace LiveImager.Formats.Tests.Support;

/// <summary>Runs the real tools (mkfs.*, sfdisk, partclone, fsck) that make and check test cases.</summary>
public static class ExternalTool
{
    /// <summary>True when <paramref name="name"/> is on PATH (or in /sbin, /usr/sbin, where mkfs tools live).</summary>
    public static bool Exists(string name) => Locate(name) is not null;

    /// <summary>Skips the calling test, naming the Debian package to install, when a tool is missing.</summary>
    public static void Require(string name, string package)
    {
        Skip.IfNot(Exists(name), $"needs {name} (apt-get install {package}; `make test` installs it)");
    }

    /// <summary>Runs a tool, returns its standard output, and throws with its standard error when it fails.</summary>
    public static string Run(string name, params string[] args) => RunWithInput(name, null, args);

    /// <summary>As <see cref="Run"/>, writing <paramref name="stdin"/> to the tool's standard input first.</summary>
    public static string RunWithInput(string name, string? stdin, params string[] args)
    {
        var result = RunUnchecked(name, stdin, args);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{name} {string.Join(' ', args)} exited {result.ExitCode}:\n{result.StandardError}\n{result.StandardOutput}");
        }
        return result.StandardOutput;
    }

    /// <summary>Runs a tool and returns its exit code and output, whatever the exit code.</summary>
    public static ToolResult RunUnchecked(string name, string? stdin, params string[] args)
    {
        var info = new ProcessStartInfo(Locate(name) ?? name)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {name}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} {string.Join(' ', args)} ran over 5 minutes");
        }
        return new ToolResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? Locate(string name)
    {
        if (name.Contains('/'))
        {
            return File.Exists(name) ? name : null;
        }
        string path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (string dir in path.Split(':').Concat(["/sbin", "/usr/sbin", "/bin", "/usr/bin"]))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}

/// <summary>What a tool printed and how it exited.</summary>
public sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError);
