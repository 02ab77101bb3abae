using System.Net;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Netboot;
using Xunit;

namespace LiveImager.Engine.Tests.Netboot;

public class PxeServerConfigurationTests
{
    private static readonly PxeServerOptions s_options = new("eth0", "/run/live/medium/live");

    [Fact]
    public void ProxyModeAnswersPxeClientsOnTheInterfacesSubnetAndGivesNoRange()
    {
        string conf = PxeServer.DnsmasqConfiguration(s_options, IPAddress.Parse("192.168.50.7"), 24, "/run/pxe/tftp");

        Assert.Contains("port=0\n", conf);
        Assert.Contains("interface=eth0\nbind-interfaces\n", conf);
        Assert.Contains("dhcp-range=192.168.50.0,proxy,255.255.255.0\n", conf);
        Assert.Contains("pxe-service=tag:!ipxe,x86PC,\"LiveImager (BIOS)\",undionly.kpxe\n", conf);
        Assert.Contains("pxe-service=tag:!ipxe,X86-64_EFI,\"LiveImager (UEFI)\",ipxe.efi\n", conf);
        Assert.Contains("pxe-service=tag:ipxe,x86PC,\"LiveImager\",boot.ipxe\n", conf);
        Assert.Contains("tftp-root=/run/pxe/tftp\n", conf);
        Assert.DoesNotContain("dhcp-boot", conf);
        Assert.DoesNotContain("dhcp-authoritative", conf);
    }

    [Fact]
    public void RangeModeGivesAddressesAndTheLoaderForEachArchitecture()
    {
        string conf = PxeServer.DnsmasqConfiguration(s_options with { DhcpRange = "10.1.0.100,10.1.0.150" }, IPAddress.Parse("10.1.0.1"), 16, "/t");

        Assert.Contains("dhcp-range=10.1.0.100,10.1.0.150,255.255.0.0,1h\n", conf);
        Assert.Contains("dhcp-boot=tag:ipxe,boot.ipxe,,10.1.0.1\n", conf);
        Assert.Contains("dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,10.1.0.1\n", conf);
        Assert.Contains("dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,10.1.0.1\n", conf);
        Assert.DoesNotContain("proxy", conf);
    }

    [Fact]
    public void TheScriptBootsTheLiveSystemOverHttpAndRunsTheJob()
    {
        string script = PxeServer.IpxeScript(s_options with { Job = "restore multicast://eth0 /dev/sda --yes" }, IPAddress.Parse("10.0.0.1"));
        string menu = PxeServer.IpxeScript(s_options with { HttpPort = 8080 }, IPAddress.Parse("10.0.0.1"));

        Assert.Equal("#!ipxe\nkernel http://10.0.0.1/vmlinuz initrd=initrd.img boot=live components fetch=http://10.0.0.1/filesystem.squashfs " +
            "liveimager.run=\"restore multicast://eth0 /dev/sda --yes\" liveimager.after=poweroff\ninitrd http://10.0.0.1/initrd.img\nboot\n", script);
        Assert.Contains("fetch=http://10.0.0.1:8080/filesystem.squashfs\n", menu);
    }

    [Theory]
    [InlineData("eth0", "1.2.3.4", null, "--dhcp-range '1.2.3.4' is not FIRST,LAST")]
    [InlineData("eth0", "10.0.0.5,fe80::1", null, "is not FIRST,LAST with two IPv4 addresses")]
    [InlineData("--conf-file", null, null, "'--conf-file' is not a network interface name")]
    [InlineData("eth0", null, "restore x\" /dev/sda", "--run: the job must be")]
    [InlineData("eth0", null, "restore ${net0/ip} /dev/sda", "--run: the job must be")]
    [InlineData("eth0", null, "restore x\nkernel http://evil/", "--run: the job must be")]
    public void OptionsThatWouldBreakTheScriptOrTheConfigurationAreRefused(string name, string? range, string? job, string message)
    {
        var e = Assert.Throws<ImagingException>(() => PxeServer.Validate(new PxeServerOptions(name, "/live", range, Job: job)));

        Assert.Contains(message, e.Message);
    }
}
