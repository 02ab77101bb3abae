using LiveImager.Engine.Deploy;
using Xunit;

namespace LiveImager.Engine.Tests.Deploy;

/// <summary>Shell-like splitting of a job line: quotes and backslashes as sh has them, and nothing expanded.</summary>
public sealed class JobLineTests
{
    [Theory]
    [InlineData("restore nfs://10.0.2.2/srv/images/pc1.lim /dev/sda --yes", new[] { "restore", "nfs://10.0.2.2/srv/images/pc1.lim", "/dev/sda", "--yes" })]
    [InlineData("  capture\t/dev/sda   /srv/a.lim  ", new[] { "capture", "/dev/sda", "/srv/a.lim" })]
    [InlineData("capture /dev/sda '/mnt/my images/pc.lim'", new[] { "capture", "/dev/sda", "/mnt/my images/pc.lim" })]
    [InlineData("capture /dev/sda \"/mnt/my images/pc.lim\"", new[] { "capture", "/dev/sda", "/mnt/my images/pc.lim" })]
    [InlineData("capture /dev/sda /mnt/my\\ images/pc.lim", new[] { "capture", "/dev/sda", "/mnt/my images/pc.lim" })]
    [InlineData("verify \"a \\\"b\\\" \\\\ \\x\"", new[] { "verify", "a \"b\" \\ \\x" })]
    [InlineData("verify 'it'\\''s'", new[] { "verify", "it's" })]
    [InlineData("verify pre'mid dle'post", new[] { "verify", "premid dlepost" })]
    [InlineData("verify '' x", new[] { "verify", "", "x" })]
    [InlineData("verify $HOME/a.lim '$(rm -rf /)' `id` ~/x *", new[] { "verify", "$HOME/a.lim", "$(rm -rf /)", "`id`", "~/x", "*" })]
    public void SplitsLikeAShellWithoutExpanding(string line, string[] expected)
    {
        Assert.Equal(expected, JobLine.Split(line, "test"));
    }

    [Theory]
    [InlineData("capture /dev/sda 'open", "test: the ' at character 18 of the job line is never closed: capture /dev/sda 'open")]
    [InlineData("capture \"open", "test: the \" at character 9 of the job line is never closed: capture \"open")]
    [InlineData("capture x\\", "test: the job line ends in a backslash that escapes nothing: capture x\\")]
    public void UnclosedQuotesAndATrailingBackslashAreRefused(string line, string message)
    {
        var error = Assert.Throws<UnattendedConfigException>(() => JobLine.Split(line, "test"));
        Assert.Equal(message, error.Message);
    }
}
