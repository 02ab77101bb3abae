using LiveImager.Engine.Devices;
using Xunit;

namespace LiveImager.Engine.Tests.Devices;

/// <summary>The kernel's own splitting of /proc/cmdline: quotes protect spaces, last parameter wins.</summary>
public sealed class KernelCommandLineTests
{
    [Fact]
    public void QuotedValuesKeepTheirSpacesAndLoseTheirOuterQuotes()
    {
        var line = KernelCommandLine.Parse(
            "BOOT_IMAGE=/live/vmlinuz boot=live liveimager.run=\"restore nfs://10.0.2.2/srv/images/pc1 /dev/sda --yes\" quiet " +
            "liveimager.after=reboot\n");
        Assert.Equal("restore nfs://10.0.2.2/srv/images/pc1 /dev/sda --yes", line["liveimager.run"]);
        Assert.Equal("reboot", line["liveimager.after"]);
        Assert.Equal("live", line["boot"]);
        Assert.Null(line["quiet"]);
        Assert.Null(line["absent"]);
    }

    [Fact]
    public void AQuoteAroundTheWholeParameterIsDroppedLikeTheKernelDoes()
    {
        Assert.Equal("capture /dev/sda /srv/x.lim", KernelCommandLine.Parse("\"liveimager.run=capture /dev/sda /srv/x.lim\"")["liveimager.run"]);
    }

    [Fact]
    public void SingleQuotesInsideAreLeftForTheJobSplitter()
    {
        var line = KernelCommandLine.Parse("liveimager.run=\"capture /dev/sda '/mnt/my images/pc.lim'\" x=1");
        Assert.Equal("capture /dev/sda '/mnt/my images/pc.lim'", line["liveimager.run"]);
        Assert.Equal("1", line["x"]);
    }

    [Fact]
    public void TheLastOfARepeatedParameterWins()
    {
        Assert.Equal("shell", KernelCommandLine.Parse("liveimager.after=poweroff liveimager.after=shell")["liveimager.after"]);
    }

    [Fact]
    public void AMissingFileIsAnEmptyCommandLine()
    {
        Assert.Null(KernelCommandLine.Read("/nonexistent/cmdline")["liveimager.medium"]);
    }
}
