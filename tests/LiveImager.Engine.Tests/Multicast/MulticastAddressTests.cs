using LiveImager.Engine.Imaging;
using LiveImager.Engine.Multicast;
using Xunit;

namespace LiveImager.Engine.Tests.Multicast;

public sealed class MulticastAddressTests
{
    [Theory]
    [InlineData("multicast://", null, 9000, 60, null)]
    [InlineData("multicast://eth0", "eth0", 9000, 60, null)]
    [InlineData("multicast://enp3s0:9010", "enp3s0", 9010, 60, null)]
    [InlineData("multicast://:9002?receive-timeout=5", null, 9002, 5, null)]
    [InlineData("MULTICAST://br0?start-timeout=30&receive-timeout=10", "br0", 9000, 10, 30)]
    public void ParsesInterfacePortAndTimeouts(string text, string? name, int portBase, int receiveTimeout, int? startTimeout)
    {
        MulticastAddress address = MulticastAddress.Parse(text);

        Assert.Equal(new MulticastAddress(name, portBase, receiveTimeout, startTimeout), address);
        Assert.Equal(address, MulticastAddress.Parse(address.ToString()));
    }

    [Theory]
    [InlineData("multicast://--file=/etc/passwd", "not a network interface name")]
    [InlineData("multicast://a-very-long-interface-name", "not a network interface name")]
    [InlineData("multicast://eth0:0", "port base '0'")]
    [InlineData("multicast://eth0:65535", "port base '65535'")]
    [InlineData("multicast://eth0:+9000", "port base '+9000'")]
    [InlineData("multicast://eth0?timeout=5", "'timeout=5' is not")]
    [InlineData("multicast://eth0?receive-timeout=0", "'receive-timeout=0' is not")]
    [InlineData("multicast://eth0?start-timeout=99999999999", "is not")]
    [InlineData("nfs://server/dir", "not a multicast address")]
    public void RefusesWhatUdpcastWouldMisread(string text, string message)
    {
        var e = Assert.Throws<ImagingException>(() => MulticastAddress.Parse(text));

        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void SenderArgumentsCarryEveryChoiceAndRefuseOddValues()
    {
        var options = new MulticastSendOptions("x.lim", new MulticastAddress("eth0", 9010), 3, TimeSpan.FromSeconds(30), "600m", "8x8/128", 20);

        MulticastSender.Validate(options);
        Assert.Equal(["--nokbd", "--interface", "eth0", "--portbase", "9010", "--min-receivers", "3", "--max-wait", "30", "--max-bitrate", "600m",
            "--fec", "8x8/128", "--retries-until-drop", "20"], MulticastSender.Arguments(options));
        Assert.Contains("say when to start", Assert.Throws<ImagingException>(() => MulticastSender.Validate(options with { MinReceivers = null, MaxWait = null })).Message);
        Assert.Contains("--max-bitrate '--file'", Assert.Throws<ImagingException>(() => MulticastSender.Validate(options with { MaxBitrate = "--file" })).Message);
        Assert.Contains("--fec '8x'", Assert.Throws<ImagingException>(() => MulticastSender.Validate(options with { Fec = "8x" })).Message);
        Assert.Contains("standard input", Assert.Throws<ImagingException>(() => MulticastSender.Validate(options with { Image = "-" })).Message);
        Assert.Contains("--join-timeout 0 s is not from 1 second", Assert.Throws<ImagingException>(() =>
            MulticastSender.Validate(options with { JoinTimeout = TimeSpan.Zero })).Message);
        // The join timeout is the sender's own: udp-sender never sees it (its --start-timeout would end a session with receivers).
        Assert.DoesNotContain("--start-timeout", MulticastSender.Arguments(options with { JoinTimeout = TimeSpan.FromSeconds(5) }));
    }
}
