using Xunit;

namespace LiveImager.Tui.Tests;

/// <summary>The executable's one size convention: shown in decimal units, typed as GNU tools take sizes.</summary>
public class ByteSizeTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(999, "999 B")]
    [InlineData(1000, "1.0 kB")]
    [InlineData(500_107_862_016, "500.1 GB")]
    [InlineData(4L << 40, "4.4 TB")]
    public void ShowsDecimalUnits(long bytes, string shown) => Assert.Equal(shown, ByteSize.Format(bytes));

    [Fact]
    public void ExactAddsTheByteCountAndRatesArePerSecond()
    {
        Assert.Equal("120.6 GB (120,570,000,000 bytes)", ByteSize.Exact(120_570_000_000));
        Assert.Equal("310.0 MB/s", ByteSize.Rate(310e6));
        Assert.Equal("04:05", ByteSize.Duration(TimeSpan.FromSeconds(245)));
        Assert.Equal("1:02:03", ByteSize.Duration(new TimeSpan(1, 2, 3)));
    }

    [Theory]
    [InlineData("4G", 4L << 30)]
    [InlineData("4GiB", 4L << 30)]
    [InlineData("4GB", 4_000_000_000)]
    [InlineData("650M", 650L << 20)]
    [InlineData("1.5 T", 3L << 39)]
    [InlineData("512", 512)]
    [InlineData("2kB", 2000)]
    public void ReadsSizesAsGnuToolsDo(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out long parsed), text);
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("G")]
    [InlineData("4X")]
    [InlineData("-4G")]
    [InlineData("4G4")]
    [InlineData("99999999999T")]
    public void RefusesWhatIsNotASize(string text) => Assert.False(ByteSize.TryParse(text, out _), text);

    [Theory]
    [InlineData("", true, 0)]
    [InlineData("0", true, 0)]
    [InlineData("1M", true, 1L << 20)]
    [InlineData("700M", true, 700L << 20)]
    [InlineData("512K", false, 0)]
    public void SplitsAreNoneOrAtLeastOneMebibyte(string text, bool accepted, long bytes)
    {
        Assert.Equal(accepted, ByteSize.TryParseSplit(text, out long parsed));
        if (accepted)
        {
            Assert.Equal(bytes, parsed);
            Assert.True(ByteSize.TryParseSplit(ByteSize.FormatTyped(parsed), out long again));
            Assert.Equal(parsed, again);
        }
    }
}
