using LiveImager.Engine.Multicast;
using Xunit;

namespace LiveImager.Engine.Tests.Multicast;

/// <summary>udpcast 20120424's messages (Debian 12), as captured from udp-sender and udp-receiver on a namespace LAN.</summary>
public sealed class UdpcastLineTests
{
    [Fact]
    public void SenderSessionIsFollowedFromItsMessages()
    {
        const string messages = "Udp-sender 20120424\nUsing mcast address 234.77.0.1\nBroadcasting control to 10.77.0.255\n" +
            "New connection from 10.77.0.3  (#0) 00000009\nNew connection from 10.77.0.2  (#1) 00000009\nStarting transfer: 00000009\n" +
            "bytes= 21 036 288  re-xmits=0001483 ( 10.2%) slice=0112 -   1\rbytes= 30 000 000  re-xmits=0001676 (  8.1%) slice=0112 -   1\r\n" +
            "Timeout notAnswered=[0] notReady=[0] nrAns=1 nrRead=1 nrPart=2 avg=10000\nDropping client #0 because of timeout\n" +
            "Disconnecting #0 (10.77.0.3)\nTransfer complete.\a\nDisconnecting #1 (10.77.0.2)\n";
        var lines = new List<UdpcastLine>();

        UdpcastLine.ReadAll(new StringReader(messages), lines.Add);

        UdpcastLine[] known = [.. lines.Where(l => l.Event != UdpcastEvent.Other)];
        Assert.Equal(
            [UdpcastEvent.Joined, UdpcastEvent.Joined, UdpcastEvent.Started, UdpcastEvent.Progress, UdpcastEvent.Progress, UdpcastEvent.Dropped,
             UdpcastEvent.Disconnected, UdpcastEvent.Complete, UdpcastEvent.Disconnected],
            known.Select(l => l.Event));
        Assert.Equal((0, "10.77.0.3"), (known[0].Receiver, known[0].Address));
        Assert.Equal((1, "10.77.0.2"), (known[1].Receiver, known[1].Address));
        Assert.Equal((30_000_000L, 1676L), (known[4].Bytes, known[4].Retransmits));
        Assert.Equal(0, known[5].Receiver);
        Assert.Equal((1, "10.77.0.2"), (known[8].Receiver, known[8].Address));
    }

    [Fact]
    public void ReceiverMessagesGiveTheSenderAndTheBytes()
    {
        UdpcastLine connected = UdpcastLine.Parse("Connected as #4 to 10.77.0.1");
        UdpcastLine progress = UdpcastLine.Parse("bytes=     163 072  (355.85 Mbps)");

        Assert.Equal((UdpcastEvent.Connected, 4, "10.77.0.1"), (connected.Event, connected.Receiver, connected.Address));
        Assert.Equal((UdpcastEvent.Progress, 163_072L, -1L), (progress.Event, progress.Bytes, progress.Retransmits));
        Assert.Equal(UdpcastEvent.TimedOut, UdpcastLine.Parse("Receiver timeout").Event);
    }

    [Theory]
    [InlineData("New connection from 10.0.0.2  (#999999) 00000009")]
    [InlineData("bytes= 999 999 999 999 999 999 999  re-xmits=1")]
    [InlineData("Disconnecting #1 (not an address)")]
    [InlineData("")]
    public void OddOrOversizedLinesAreKeptAsText(string text)
    {
        UdpcastLine line = UdpcastLine.Parse(text);

        Assert.True(line.Event == UdpcastEvent.Other || line.Bytes == -1, $"{line.Event} {line.Bytes}");
    }

    [Fact]
    public void ALineWithoutEndIsCutToABoundedLength()
    {
        var lines = new List<UdpcastLine>();

        UdpcastLine.ReadAll(new StringReader(new string('x', 100_000)), lines.Add);

        Assert.Equal(1000, Assert.Single(lines).Text.Length);
    }
}
