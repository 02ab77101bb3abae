using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Multicast;
using LiveImager.Engine.Targets;
using Serilog;

namespace LiveImager.Engine.Netboot;

/// <summary>What the PXE server serves, and to whom.</summary>
/// <param name="Interface">The one network interface it answers on.</param>
/// <param name="LiveDirectory">The live system's files: <c>vmlinuz</c>, <c>initrd.img</c>, <c>filesystem.squashfs</c>
/// (on the running stick: /run/live/medium/live).</param>
/// <param name="DhcpRange">null: proxy DHCP beside the LAN's own DHCP server, which still gives the addresses. Else
/// "FIRST,LAST": this server gives addresses itself, for a network with no DHCP server (an isolated switch).</param>
/// <param name="HttpPort">The port of the HTTP server for the kernel, initrd and squashfs.</param>
/// <param name="Job">The job every booted client runs unattended (its <c>liveimager.run=</c>), or null for the menu.</param>
public sealed record PxeServerOptions(string Interface, string LiveDirectory, string? DhcpRange = null, int HttpPort = PxeServer.DefaultHttpPort,
    string? Job = null);

/// <summary>Makes this machine a network boot server on one interface: dnsmasq (proxy DHCP, or a DHCP range of its
/// own, and TFTP) hands PXE clients iPXE (BIOS: undionly.kpxe, UEFI: ipxe.efi), iPXE fetches <c>boot.ipxe</c>, which
/// loads the live system's kernel and initrd over HTTP (busybox httpd) with live-boot's <c>fetch=</c> of the squashfs
/// from the same server. Runs until cancelled or until a service stops; every service it started is stopped and its
/// directory removed on the way out.</summary>
public sealed class PxeServer(PxeServerOptions options)
{
    public const int DefaultHttpPort = 80;

    /// <summary>The live system's files a client needs, as Debian live-build names them.</summary>
    public static readonly IReadOnlyList<string> LiveFiles = ["vmlinuz", "initrd.img", "filesystem.squashfs"];

    /// <summary>iPXE's loaders as Debian's ipxe package installs them.</summary>
    public const string IpxeDirectory = "/usr/lib/ipxe";

    private const string BiosLoader = "undionly.kpxe";
    private const string UefiLoader = "ipxe.efi";
    private const string Script = "boot.ipxe";
    private const int MaxJobLength = 512;

    /// <summary>Raised from a reader thread for each line dnsmasq or httpd writes (DHCP offers, TFTP sends, requests).</summary>
    public event Action<string>? Message;

    /// <summary>Raised once every service listens: the address clients are served from.</summary>
    public event Action<IPAddress>? Ready;

    /// <summary>Refuses what would break the boot script or a service's configuration before anything starts.</summary>
    public static void Validate(PxeServerOptions options)
    {
        MulticastAddress.CheckInterface(options.Interface, "--interface");
        if (options.HttpPort is < 1 or > 65535)
        {
            throw new ImagingException($"--http-port {options.HttpPort} is not from 1 to 65535");
        }
        if (options.DhcpRange is { } range)
        {
            string[] ends = range.Split(',');
            if (ends.Length != 2 || !ends.All(e => IPAddress.TryParse(e, out IPAddress? a) && a.AddressFamily == AddressFamily.InterNetwork))
            {
                throw new ImagingException($"--dhcp-range '{range}' is not FIRST,LAST with two IPv4 addresses, e.g. 192.168.50.100,192.168.50.199");
            }
        }
        // The job goes into an iPXE script line and a kernel command line in double quotes: no quote, no line break,
        // no iPXE ${setting} expansion, and short enough for the kernel's command line.
        if (options.Job is { } job && (job.Length == 0 || job.Length > MaxJobLength || job.Any(c => c is '"' or '$' or '\\' || char.IsControl(c))))
        {
            throw new ImagingException($"--run: the job must be 1 to {MaxJobLength} characters without quotes, $, \\ or control characters");
        }
    }

    /// <summary>The IPv4 address and prefix length of <paramref name="name"/>; throws when it has none.</summary>
    public static (IPAddress Address, int PrefixLength) InterfaceAddress(string name)
    {
        NetworkInterface nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == name)
            ?? throw new ImagingException($"there is no network interface {name} (see ip link)");
        UnicastIPAddressInformation ipv4 = nic.GetIPProperties().UnicastAddresses.FirstOrDefault(a => a.Address.AddressFamily == AddressFamily.InterNetwork)
            ?? throw new ImagingException($"{name} has no IPv4 address: give it one (ip addr add 192.168.50.1/24 dev {name}) or let the LAN's DHCP server do it");
        return (ipv4.Address, ipv4.PrefixLength);
    }

    /// <summary>dnsmasq's configuration: no DNS, one interface, proxy DHCP or a range, TFTP from
    /// <paramref name="tftpRoot"/>; the PXE ROM gets iPXE for its architecture, iPXE gets the script.</summary>
    public static string DnsmasqConfiguration(PxeServerOptions options, IPAddress address, int prefixLength, string tftpRoot)
    {
        var lines = new List<string>
        {
            "port=0",
            $"interface={options.Interface}",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "log-dhcp",
            "enable-tftp",
            $"tftp-root={tftpRoot}",
            // PXE client architecture (RFC 4578 option 93): 7 and 9 are x86-64 UEFI; iPXE says who it is in option 77.
            "dhcp-match=set:efi64,option:client-arch,7",
            "dhcp-match=set:efi64,option:client-arch,9",
            "dhcp-userclass=set:ipxe,iPXE",
        };
        if (options.DhcpRange is { } range)
        {
            string[] ends = range.Split(',');
            lines.Add($"dhcp-range={ends[0]},{ends[1]},{NetworkMask(prefixLength)},1h");
            lines.Add("dhcp-authoritative");
            lines.Add($"dhcp-boot=tag:ipxe,{Script},,{address}");
            lines.Add($"dhcp-boot=tag:!ipxe,tag:efi64,{UefiLoader},,{address}");
            lines.Add($"dhcp-boot=tag:!ipxe,tag:!efi64,{BiosLoader},,{address}");
        }
        else
        {
            lines.Add($"dhcp-range={NetworkAddress(address, prefixLength)},proxy,{NetworkMask(prefixLength)}");
            // A menu with one entry and no wait: the PXE ROM boots it at once.
            lines.Add("pxe-prompt=\"LiveImager\",0");
            lines.Add($"pxe-service=tag:ipxe,x86PC,\"LiveImager\",{Script}");
            lines.Add($"pxe-service=tag:ipxe,X86-64_EFI,\"LiveImager\",{Script}");
            lines.Add($"pxe-service=tag:!ipxe,x86PC,\"LiveImager (BIOS)\",{BiosLoader}");
            lines.Add($"pxe-service=tag:!ipxe,X86-64_EFI,\"LiveImager (UEFI)\",{UefiLoader}");
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The iPXE script: the live kernel and initrd over HTTP, live-boot fetching the squashfs from the same
    /// server into RAM, and the job every client runs.</summary>
    public static string IpxeScript(PxeServerOptions options, IPAddress address)
    {
        string http = options.HttpPort == 80 ? $"http://{address}" : $"http://{address}:{options.HttpPort}";
        string job = options.Job is { } j ? $" liveimager.run=\"{j}\" liveimager.after=poweroff" : string.Empty;
        return "#!ipxe\n" +
            $"kernel {http}/vmlinuz initrd=initrd.img boot=live components fetch={http}/filesystem.squashfs{job}\n" +
            $"initrd {http}/initrd.img\n" +
            "boot\n";
    }

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled (then returns) or a service stops (then
    /// throws, saying which and with its last messages).</summary>
    public void Run(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("LiveImager runs on Linux only");
        }
        Validate(options);
        foreach (string file in LiveFiles)
        {
            if (!File.Exists(Path.Combine(options.LiveDirectory, file)))
            {
                throw new ImagingException($"{options.LiveDirectory} has no {file}: give the live system's directory (--live-dir; on the stick: /run/live/medium/live)");
            }
        }
        string dnsmasq = StoreTools.Find("dnsmasq") ?? throw new ImagingException("pxe-server needs dnsmasq, which is not installed (apt-get install dnsmasq-base)");
        string busybox = StoreTools.Find("busybox") ?? throw new ImagingException("pxe-server needs busybox for its HTTP server, which is not installed (apt-get install busybox)");
        foreach (string loader in new[] { BiosLoader, UefiLoader })
        {
            if (!File.Exists(Path.Combine(IpxeDirectory, loader)))
            {
                throw new ImagingException($"pxe-server needs iPXE's {IpxeDirectory}/{loader}, which is not installed (apt-get install ipxe)");
            }
        }
        (IPAddress address, int prefixLength) = InterfaceAddress(options.Interface);
        DirectoryInfo root = Directory.CreateTempSubdirectory("liveimager-pxe-");
        var children = new List<(string Name, Process Process, Queue<string> Tail)>();
        try
        {
            // Readable by dnsmasq's unprivileged user, as by every client on the LAN: these are public boot files, so
            // they are opened up from the private modes the process's umask gives (PrivateFiles.RestrictUmask).
            string tftp = Path.Combine(root.FullName, "tftp");
            Directory.CreateDirectory(tftp);
            foreach (string loader in new[] { BiosLoader, UefiLoader })
            {
                File.Copy(Path.Combine(IpxeDirectory, loader), Path.Combine(tftp, loader));
            }
            File.WriteAllText(Path.Combine(tftp, Script), IpxeScript(options, address));
            string configuration = Path.Combine(root.FullName, "dnsmasq.conf");
            File.WriteAllText(configuration, DnsmasqConfiguration(options, address, prefixLength, tftp));
            foreach (string path in Directory.EnumerateFiles(tftp).Append(configuration))
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            UnixFileMode open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead |
                UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            File.SetUnixFileMode(tftp, open);
            File.SetUnixFileMode(root.FullName, open);

            children.Add(Start("dnsmasq", dnsmasq, ["--keep-in-foreground", "--log-facility=-", "--pid-file", $"--conf-file={configuration}"]));
            children.Add(Start("httpd", busybox, ["httpd", "-f", "-vv", "-p", $"{address}:{options.HttpPort.ToString(CultureInfo.InvariantCulture)}",
                "-h", Path.GetFullPath(options.LiveDirectory), "-u", "nobody:nogroup"]));
            Log.Information("PXE server on {Interface} ({Address}/{Prefix}), {Mode}, HTTP port {Port}, job {Job}", options.Interface, address.ToString(),
                prefixLength, options.DhcpRange is null ? "proxy DHCP" : $"DHCP range {options.DhcpRange}", options.HttpPort, options.Job ?? "(menu)");
            // A service that cannot bind (a port in use, no such address) exits at once: wait a moment before saying it is ready.
            if (cancellationToken.WaitHandle.WaitOne(500))
            {
                return;
            }
            ThrowIfStopped(children);
            Ready?.Invoke(address);
            while (!cancellationToken.WaitHandle.WaitOne(250))
            {
                ThrowIfStopped(children);
            }
        }
        finally
        {
            foreach ((string name, Process process, _) in children)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
                process.WaitForExit();
                process.Dispose();
                Log.Information("PXE server: {Service} stopped", name);
            }
            root.Delete(recursive: true);
        }
    }

    private (string Name, Process Process, Queue<string> Tail) Start(string name, string program, IReadOnlyList<string> arguments)
    {
        ProcessStartInfo info = StoreTools.PipedStart(program, arguments);
        Process process = Process.Start(info) ?? throw new ImagingException($"cannot start {program}");
        process.StandardInput.Close();
        var tail = new Queue<string>();
        foreach (StreamReader reader in new[] { process.StandardError, process.StandardOutput })
        {
            new Thread(() =>
            {
                while (reader.ReadLine() is { } line)
                {
                    lock (tail)
                    {
                        tail.Enqueue(line);
                        if (tail.Count > 8)
                        {
                            tail.Dequeue();
                        }
                    }
                    Log.Information("{Service}: {Line}", name, line);
                    Message?.Invoke($"{name}: {line}");
                }
            })
            { IsBackground = true, Name = $"{name} messages" }.Start();
        }
        return (name, process, tail);
    }

    private static void ThrowIfStopped(List<(string Name, Process Process, Queue<string> Tail)> children)
    {
        foreach ((string name, Process process, Queue<string> tail) in children)
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                string said;
                lock (tail)
                {
                    said = string.Join(" | ", tail);
                }
                throw new ImagingException($"{name} stopped (exit code {process.ExitCode}): {said}");
            }
        }
    }

    private static string NetworkMask(int prefixLength) =>
        new IPAddress(BitConverter.GetBytes(IPAddress.HostToNetworkOrder(prefixLength == 0 ? 0 : -1 << (32 - prefixLength)))).ToString();

    private static string NetworkAddress(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
        uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, value & mask);
        return new IPAddress(bytes).ToString();
    }
}
