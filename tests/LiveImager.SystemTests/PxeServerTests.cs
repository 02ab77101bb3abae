using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.SystemTests;

/// <summary><c>liveimager pxe-server</c> on a LAN of network namespaces, judged by real clients in another namespace:
/// busybox udhcpc as a PXE ROM would ask (its vendor class and architecture), busybox tftp for the loader and the
/// iPXE script, curl for the files the script names. The live system's files are stand-ins of random bytes: what is
/// checked is that each arrives whole. Every process runs under a timeout and the namespaces go with everything in them.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class PxeServerTests(ITestOutputHelper log)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private const string Job = "restore multicast://eth0 /dev/sda --yes";

    private static void Require()
    {
        NetworkNamespaces.Require();
        ExternalTool.Require("dnsmasq", "dnsmasq-base");
        ExternalTool.Require("busybox", "busybox");
        ExternalTool.Require("curl", "curl");
        Skip.IfNot(File.Exists("/usr/lib/ipxe/undionly.kpxe"), "needs iPXE's loaders (apt-get install ipxe)");
    }

    [SkippableFact]
    public void WithItsOwnRangeEachClientGetsItsLoaderThenTheScriptAndTheLiveFilesArriveWhole()
    {
        Require();
        string binary = PublishedBinary.Require();
        using var scratch = new ScratchDirectory();
        string live = LiveFiles(scratch);
        using var lan = NetworkNamespaces.Create("s", "c");
        string server = lan.Address("s");

        RunningProgram pxe = lan.Start("s", binary, "pxe-server", "--interface", "eth0", "--dhcp-range", $"{lan.Subnet}.100,{lan.Subnet}.150",
            "--live-dir", live, "--http-port", "8080", "--run", Job);
        pxe.WaitForError("pxe-server: serving on eth0", s_timeout);

        // A UEFI PXE ROM (architecture 7), a BIOS one (0), and iPXE once loaded (user class "iPXE").
        Assert.Equal("ipxe.efi", Lease(lan, scratch, "-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "93:0007")["boot_file"]);
        Dictionary<string, string> bios = Lease(lan, scratch, "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "93:0000");
        Assert.Equal("undionly.kpxe", bios["boot_file"]);
        Assert.Equal(server, bios["siaddr"]);
        Assert.StartsWith(lan.Subnet + ".", bios["ip"]);
        Assert.Equal("boot.ipxe", Lease(lan, scratch, "-x", "77:69505845")["boot_file"]);

        string loader = scratch.File("undionly.kpxe");
        Tftp(lan, server, "undionly.kpxe", loader);
        Assert.Equal(File.ReadAllBytes("/usr/lib/ipxe/undionly.kpxe"), File.ReadAllBytes(loader));
        string script = scratch.File("boot.ipxe");
        Tftp(lan, server, "boot.ipxe", script);
        string text = File.ReadAllText(script);
        log.WriteLine(text);
        Assert.StartsWith("#!ipxe\n", text);
        Assert.Contains($"kernel http://{server}:8080/vmlinuz initrd=initrd.img boot=live components fetch=http://{server}:8080/filesystem.squashfs " +
            $"liveimager.run=\"{Job}\" liveimager.after=poweroff\n", text);
        Assert.Contains($"initrd http://{server}:8080/initrd.img\n", text);
        foreach (string file in new[] { "vmlinuz", "initrd.img", "filesystem.squashfs" })
        {
            string got = scratch.File("got-" + file);
            ToolResult fetch = ExternalTool.RunUnchecked("ip", null, "netns", "exec", lan.Name("c"), "curl", "-sSf", "--max-time", "30", "-o", got,
                $"http://{server}:8080/{file}");
            Assert.True(fetch.ExitCode == 0, fetch.StandardError);
            Assert.Equal(File.ReadAllBytes(Path.Combine(live, file)), File.ReadAllBytes(got));
        }

        Stop(lan, pxe);
        log.WriteLine(pxe.Error);
        Assert.Contains("pxe-server: stopped", pxe.Error);
        Assert.Contains("DHCPACK(eth0)", pxe.Error);
        Assert.Equal(string.Empty, ExternalTool.RunUnchecked("ip", null, "netns", "pids", lan.Name("s")).StandardOutput.Trim());
    }

    /// <summary>Beside the LAN's own DHCP server the PXE server gives no address: a PXE client's discover gets a proxy
    /// offer (address 0.0.0.0) from it, and a client that is no PXE ROM gets nothing.</summary>
    [SkippableFact]
    public void ByDefaultItAnswersOnlyPxeClientsAndGivesNoAddress()
    {
        Require();
        string binary = PublishedBinary.Require();
        using var scratch = new ScratchDirectory();
        string live = LiveFiles(scratch);
        using var lan = NetworkNamespaces.Create("s", "c");
        string server = lan.Address("s");

        RunningProgram pxe = lan.Start("s", binary, "pxe-server", "--interface", "eth0", "--live-dir", live, "--http-port", "8080");
        pxe.WaitForError("pxe-server: serving on eth0", s_timeout);
        ToolResult pxeClient = Udhcpc(lan, scratch, "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "93:0000");
        ToolResult plainClient = Udhcpc(lan, scratch);
        Stop(lan, pxe);
        log.WriteLine(pxeClient.StandardError + pxeClient.StandardOutput);
        log.WriteLine(pxe.Error);

        Assert.Contains($"select for 0.0.0.0, server {server}", pxeClient.StandardError + pxeClient.StandardOutput);
        Assert.Contains("proxy DHCP beside the LAN's DHCP server", pxe.Error);
        Assert.Contains("PXE(eth0)", pxe.Error);
        Assert.DoesNotContain("select for", plainClient.StandardError + plainClient.StandardOutput);
        Assert.DoesNotContain("DHCPACK", pxe.Error);
        Assert.Contains("pxe-server: stopped", pxe.Error);
    }

    [SkippableFact]
    public void AMissingLiveFileIsNamedAndNothingStarts()
    {
        Require();
        string binary = PublishedBinary.Require();
        using var scratch = new ScratchDirectory();
        string live = LiveFiles(scratch);
        File.Delete(Path.Combine(live, "initrd.img"));
        using var lan = NetworkNamespaces.Create("s");

        RunningProgram pxe = lan.Start("s", binary, "pxe-server", "--interface", "eth0", "--live-dir", live);
        Assert.Equal(1, pxe.Wait(s_timeout));
        Assert.Contains($"{live} has no initrd.img", pxe.Error);
        Assert.Equal(string.Empty, ExternalTool.RunUnchecked("ip", null, "netns", "pids", lan.Name("s")).StandardOutput.Trim());
    }

    /// <summary>Stand-ins for the live system's files, readable by the HTTP server's unprivileged user.</summary>
    private static string LiveFiles(ScratchDirectory scratch)
    {
        string live = scratch.File("live");
        Directory.CreateDirectory(live);
        foreach ((string name, int size) in new[] { ("vmlinuz", 300_000), ("initrd.img", 700_000), ("filesystem.squashfs", 3_000_000) })
        {
            var bytes = new byte[size];
            Random.Shared.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(live, name), bytes);
        }
        ExternalTool.Run("chmod", "-R", "a+rX", scratch.Path);
        return live;
    }

    private static ToolResult Udhcpc(NetworkNamespaces lan, ScratchDirectory scratch, params string[] options)
    {
        string script = scratch.File("udhcpc.sh");
        File.WriteAllText(script, $"#!/bin/sh\n[ \"$1\" = bound ] && env > {scratch.File("lease.env")}\nexit 0\n");
        ExternalTool.Run("chmod", "0500", script);
        File.Delete(scratch.File("lease.env"));
        return ExternalTool.RunUnchecked("timeout", null, ["20", "ip", "netns", "exec", lan.Name("c"), "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n",
            "-t", "3", "-T", "2", "-s", script, .. options]);
    }

    /// <summary>The variables udhcpc hands its script for the lease it got.</summary>
    private static Dictionary<string, string> Lease(NetworkNamespaces lan, ScratchDirectory scratch, params string[] options)
    {
        ToolResult result = Udhcpc(lan, scratch, options);
        Assert.True(result.ExitCode == 0, result.StandardError + result.StandardOutput);
        return File.ReadAllLines(scratch.File("lease.env")).Where(l => l.Contains('='))
            .Select(l => l.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);
    }

    private static void Tftp(NetworkNamespaces lan, string server, string file, string to)
    {
        ToolResult result = ExternalTool.RunUnchecked("timeout", null, "20", "ip", "netns", "exec", lan.Name("c"), "busybox", "tftp", "-g", "-r", file,
            "-l", to, server);
        Assert.True(result.ExitCode == 0, result.StandardError);
    }

    /// <summary>Ctrl-C to the server, as a technician stops it; it must end by itself, its services with it.</summary>
    private static void Stop(NetworkNamespaces lan, RunningProgram pxe)
    {
        foreach (string pid in ExternalTool.RunUnchecked("ip", null, "netns", "pids", lan.Name("s")).StandardOutput
                     .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (File.Exists($"/proc/{pid}/comm") && File.ReadAllText($"/proc/{pid}/comm").Trim() == "liveimager")
            {
                ExternalTool.RunUnchecked("kill", null, "-INT", pid);
            }
        }
        Assert.Equal(0, pxe.Wait(s_timeout));
    }
}
