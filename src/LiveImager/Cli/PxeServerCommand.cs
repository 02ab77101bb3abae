using System.CommandLine;
using System.Net;
using LiveImager.Engine.Netboot;

namespace LiveImager.Cli;

/// <summary><c>liveimager pxe-server --interface IF [--dhcp-range FIRST,LAST] [--live-dir DIR] [--http-port P]
/// [--run JOB]</c>: this machine boots the machines of one network segment into the live system (docs/pxe-server.md).</summary>
internal static class PxeServerCommand
{
    /// <summary>Where live-boot mounts the stick the system booted from.</summary>
    private const string DefaultLiveDirectory = "/run/live/medium/live";

    public static Command Create()
    {
        var networkInterface = new Option<string>("--interface") { Description = "The network interface the client machines are on", Required = true };
        var dhcpRange = new Option<string?>("--dhcp-range")
        {
            Description = "Give addresses FIRST,LAST itself, on a network with no DHCP server (default: proxy DHCP beside the LAN's own server)",
        };
        var liveDirectory = new Option<string>("--live-dir")
        {
            Description = $"The live system's vmlinuz, initrd.img and filesystem.squashfs (default {DefaultLiveDirectory})",
            DefaultValueFactory = _ => DefaultLiveDirectory,
        };
        var httpPort = new Option<int>("--http-port")
        {
            Description = $"The HTTP server's port (default {PxeServer.DefaultHttpPort})",
            DefaultValueFactory = _ => PxeServer.DefaultHttpPort,
        };
        var job = new Option<string?>("--run")
        {
            Description = "The job every booted machine runs unattended, then powers off, e.g. \"restore multicast://eth0 /dev/sda --yes\" (default: the menu)",
        };
        var command = new Command("pxe-server", "Boot the machines on one network into this live system over PXE (dnsmasq, iPXE, HTTP)")
        {
            networkInterface, dhcpRange, liveDirectory, httpPort, job,
        };
        command.SetAction(parse => Run(new PxeServerOptions(parse.GetRequiredValue(networkInterface), parse.GetRequiredValue(liveDirectory),
            parse.GetValue(dhcpRange), parse.GetValue(httpPort), parse.GetValue(job)), parse.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(PxeServerOptions options, TextWriter error) => CliErrors.Run("pxe-server", error, () =>
    {
        PxeServer.Validate(options);
        using var cancellation = new CliCancellation();
        var server = new PxeServer(options);
        server.Ready += address =>
        {
            string mode = options.DhcpRange is { } range ? $"giving addresses {range}" : "proxy DHCP beside the LAN's DHCP server";
            error.WriteLine($"pxe-server: serving on {options.Interface} ({address}), {mode}; TFTP for iPXE, HTTP on port {options.HttpPort} for {options.LiveDirectory}");
            error.WriteLine($"pxe-server: booted machines {(options.Job is { } j ? $"run: {j}" : "show the menu")}; Ctrl-C stops every service");
        };
        server.Message += line =>
        {
            // The lines a technician follows: a machine asked, got its loader, fetched the system.
            if (line.Contains("DHCPACK", StringComparison.Ordinal) || line.Contains(" proxy", StringComparison.Ordinal)
                || line.Contains("tftp", StringComparison.Ordinal) && line.Contains(" sent ", StringComparison.Ordinal) || line.StartsWith("httpd: ", StringComparison.Ordinal))
            {
                error.WriteLine($"pxe-server: {line}");
            }
        };
        server.Run(cancellation.Token);
        error.WriteLine("pxe-server: stopped");
        return 0;
    });
}
