using System.Diagnostics;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>A small LAN made of network namespaces: a hub namespace holding a bridge (multicast snooping off, so the
/// bridge floods multicast as a plain switch does), and one namespace per machine joined to it by a veth pair, each
/// with eth0 at 10.N.0.X/24 and its broadcast address (udpcast's receivers send their hello to it). Dispose kills every
/// process left in them and deletes them, which removes the veth pairs and the bridge.</summary>
public sealed class NetworkNamespaces : IDisposable
{
    private readonly string _prefix;
    private readonly string _hub;
    private readonly List<string> _machines = [];
    private readonly List<string> _names = [];
    private int _subnet;
    private readonly List<RunningProgram> _programs = [];

    private NetworkNamespaces(string prefix)
    {
        _prefix = prefix;
        _hub = prefix + "hub";
    }

    /// <summary>Skips the calling test unless it runs as root with <c>ip</c>.</summary>
    public static void Require()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "needs root to create network namespaces");
        ExternalTool.Require("ip", "iproute2");
    }

    /// <summary>Makes the hub and one namespace per name in <paramref name="machines"/> (short names: veth names
    /// have at most 15 characters).</summary>
    public static NetworkNamespaces Create(params string[] machines)
    {
        // Unique per run, so a test beside another run (or a left-over of a killed one) never shares a namespace.
        string prefix = "li" + Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next()))[..6].ToLowerInvariant();
        int subnet = Random.Shared.Next(16, 250);
        var lan = new NetworkNamespaces(prefix) { _subnet = subnet };
        lan._names.AddRange(machines);
        try
        {
            ExternalTool.Run("ip", "netns", "add", lan._hub);
            ExternalTool.Run("ip", "-n", lan._hub, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
            ExternalTool.Run("ip", "-n", lan._hub, "link", "set", "br0", "up");
            for (int i = 0; i < machines.Length; i++)
            {
                string ns = lan.Name(machines[i]);
                string hubSide = $"{prefix}{i}";
                ExternalTool.Run("ip", "netns", "add", ns);
                lan._machines.Add(ns);
                ExternalTool.Run("ip", "link", "add", hubSide, "type", "veth", "peer", "name", "eth0", "netns", ns);
                ExternalTool.Run("ip", "link", "set", hubSide, "netns", lan._hub);
                ExternalTool.Run("ip", "-n", lan._hub, "link", "set", hubSide, "master", "br0", "up");
                ExternalTool.Run("ip", "-n", ns, "addr", "add", $"10.{subnet}.0.{i + 1}/24", "brd", "+", "dev", "eth0");
                ExternalTool.Run("ip", "-n", ns, "link", "set", "eth0", "up");
                ExternalTool.Run("ip", "-n", ns, "link", "set", "lo", "up");
            }
            return lan;
        }
        catch
        {
            lan.Dispose();
            throw;
        }
    }

    /// <summary>Whether any namespace of this LAN still exists (for the tests' own check that nothing is left).</summary>
    public bool AnyLeft() => ExternalTool.Run("ip", "netns", "list").Split('\n').Any(line => line.StartsWith(_prefix, StringComparison.Ordinal));

    /// <summary>The IPv4 address <paramref name="machine"/>'s eth0 has.</summary>
    public string Address(string machine) => $"10.{_subnet}.0.{_names.IndexOf(machine) + 1}";

    /// <summary>The first three parts of the LAN's addresses ("10.N.0"), for a DHCP range on it.</summary>
    public string Subnet => $"10.{_subnet}.0";

    /// <summary>The namespace of <paramref name="machine"/>.</summary>
    public string Name(string machine) => _prefix + machine;

    /// <summary>Starts <paramref name="program"/> inside <paramref name="machine"/>'s namespace, its output collected;
    /// Dispose kills it if it still runs.</summary>
    public RunningProgram Start(string machine, string program, params string[] arguments)
    {
        RunningProgram started = RunningProgram.Start("ip", ["netns", "exec", Name(machine), program, .. arguments]);
        _programs.Add(started);
        return started;
    }

    /// <summary>Kills every process in <paramref name="machine"/>'s namespace at once (a machine switched off).</summary>
    public void KillAll(string machine)
    {
        foreach (string pid in ExternalTool.RunUnchecked("ip", null, "netns", "pids", Name(machine)).StandardOutput
                     .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            ExternalTool.RunUnchecked("kill", null, "-KILL", pid);
        }
    }

    public void Dispose()
    {
        foreach (RunningProgram program in _programs)
        {
            program.Dispose();
        }
        foreach (string ns in _machines.Append(_hub))
        {
            for (int attempt = 0; attempt < 50; attempt++)
            {
                string pids = ExternalTool.RunUnchecked("ip", null, "netns", "pids", ns).StandardOutput.Trim();
                if (pids.Length == 0)
                {
                    break;
                }
                foreach (string pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    ExternalTool.RunUnchecked("kill", null, "-KILL", pid);
                }
                Thread.Sleep(100);
            }
            ExternalTool.RunUnchecked("ip", null, "netns", "del", ns);
        }
    }
}

/// <summary>A child process whose standard output and error are collected as it runs; killed on Dispose.</summary>
public sealed class RunningProgram : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();
    private readonly System.Text.StringBuilder _error = new();

    private RunningProgram(Process process)
    {
        _process = process;
    }

    public static RunningProgram Start(string program, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info };
        var running = new RunningProgram(process);
        process.OutputDataReceived += (_, e) => running.Append(running._output, e.Data);
        process.ErrorDataReceived += (_, e) => running.Append(running._error, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    private void Append(System.Text.StringBuilder to, string? line)
    {
        if (line is not null)
        {
            lock (to)
            {
                to.AppendLine(line);
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Waits for the exit and returns its code; fails the test (killing the process) after <paramref name="timeout"/>.</summary>
    public int Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"{_process.StartInfo.FileName} {string.Join(" ", _process.StartInfo.ArgumentList)} did not end within {timeout.TotalSeconds} s:\n{Error}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits until the collected standard error contains <paramref name="text"/>, or fails after <paramref name="timeout"/>.</summary>
    public void WaitForError(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Error.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < timeout && !_process.HasExited, $"no '{text}' within {timeout.TotalSeconds} s:\n{Error}");
            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit();
        _process.Dispose();
    }
}
