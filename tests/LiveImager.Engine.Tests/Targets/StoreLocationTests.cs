using LiveImager.Engine.Targets;
using Xunit;

namespace LiveImager.Engine.Tests.Targets;

/// <summary>Parsing of every store URL form, and the message for each way one can be wrong.</summary>
public sealed class StoreLocationTests
{
    [Fact]
    public void ALocalPathIsMadeAbsolute()
    {
        StoreLocation location = StoreLocation.Parse("images/today");

        Assert.Equal(StoreKind.Local, location.Kind);
        Assert.Equal(Path.GetFullPath("images/today"), location.Path);
        Assert.False(StoreLocation.IsUrl("images/today"));
    }

    [Fact]
    public void SmbWithDomainUserShareAndPath()
    {
        StoreLocation location = StoreLocation.Parse("smb://OFFICE;anna@nas.local/backups/pc%20one/2024");

        Assert.Equal(new StoreLocation(StoreKind.Smb, "/pc one/2024", "nas.local", null, "anna", "OFFICE", "backups"), location);
        Assert.Equal("smb://OFFICE;anna@nas.local/backups/pc%20one/2024".Replace("%20", " "), location.ToString());
    }

    [Fact]
    public void SmbAndNfsWithAPort()
    {
        StoreLocation smb = StoreLocation.Parse("smb://liveimager@10.0.2.2:4450/images/net");
        StoreLocation nfs = StoreLocation.Parse("nfs://10.0.2.2:20490/images?vers=4.1");

        Assert.Equal(new StoreLocation(StoreKind.Smb, "/net", "10.0.2.2", 4450, "liveimager", null, "images"), smb);
        Assert.Equal("smb://liveimager@10.0.2.2:4450/images/net", smb.ToString());
        Assert.Equal(new StoreLocation(StoreKind.Nfs, "/images", "10.0.2.2", 20490, Version: "4.1"), nfs);
        Assert.Equal("nfs://10.0.2.2:20490/images", nfs.ToString());
        Assert.Equal("nfs://[fd00::5]:2049/x", StoreLocation.Parse("nfs://[fd00::5]:2049/x").ToString());
    }

    [Fact]
    public void SmbWithoutUserIsAGuestAtTheShareRoot()
    {
        StoreLocation location = StoreLocation.Parse("smb://192.168.1.5/public");

        Assert.Null(location.User);
        Assert.Equal("public", location.Share);
        Assert.Equal("/", location.Path);
    }

    [Fact]
    public void SmbVersionFromTheQuery()
    {
        Assert.Equal("2.1", StoreLocation.Parse("smb://u@h/s/d?vers=2.1").Version);
        Assert.Equal("3", StoreLocation.Parse("nfs://h/export/d?vers=3").Version);
    }

    [Fact]
    public void NfsHostAndPath()
    {
        StoreLocation location = StoreLocation.Parse("nfs://filer/export/images");

        Assert.Equal(new StoreLocation(StoreKind.Nfs, "/export/images", "filer"), location);
        Assert.Equal("nfs://filer/export/images", location.ToString());
    }

    [Fact]
    public void SshWithPortAndIpv6()
    {
        Assert.Equal(new StoreLocation(StoreKind.Ssh, "/srv/img", "10.0.0.2", 2222, "backup"), StoreLocation.Parse("ssh://backup@10.0.0.2:2222/srv/img"));
        StoreLocation v6 = StoreLocation.Parse("ssh://root@[fe80::1]/x");
        Assert.Equal("fe80::1", v6.Host);
        Assert.Equal("ssh://root@[fe80::1]/x", v6.ToString());
    }

    [Fact]
    public void SshHostKeyFromTheQuery()
    {
        const string Key = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8";

        StoreLocation location = StoreLocation.Parse($"ssh://backup@nas:2222/srv/images/pc.lim?hostkey={Key}");

        Assert.Equal(Key, location.HostKey);
        Assert.Equal("ssh://backup@nas:2222/srv/images/pc.lim", location.ToString());
        Assert.Equal(Key, location.SplitFile().Directory.HostKey);
        Assert.Equal("3", StoreLocation.Parse("nfs://h:2049/e?vers=3").Version);
    }

    [Theory]
    [InlineData("dev:///dev/sdb1/images/pc", "/dev/sdb1", "/images/pc")]
    [InlineData("dev:///dev/nvme0n1p3", "/dev/nvme0n1p3", "/")]
    [InlineData("dev:///dev/disk/by-label/USB/img", "/dev/disk/by-label/USB", "/img")]
    public void DevicePartitionAndPath(string url, string device, string path)
    {
        StoreLocation location = StoreLocation.Parse(url);

        Assert.Equal(StoreKind.Device, location.Kind);
        Assert.Equal(device, location.Device);
        Assert.Equal(path, location.Path);
    }

    [Fact]
    public void SplitFileSeparatesTheImageName()
    {
        var (directory, name) = StoreLocation.Parse("ssh://u@h:2200/srv/images/pc.lim").SplitFile();

        Assert.Equal("pc.lim", name);
        Assert.Equal("ssh://u@h:2200/srv/images", directory.ToString());
        Assert.Equal("/", StoreLocation.Parse("nfs://h/pc.lim").SplitFile().Directory.Path);
    }

    [Fact]
    public void SplitFileOfTheRootIsRefused()
    {
        var e = Assert.Throws<StoreException>(() => StoreLocation.Parse("smb://u@h/share").SplitFile());

        Assert.Contains("names a directory", e.Message);
    }

    [Theory]
    [InlineData("", "the location is empty")]
    [InlineData("ftp://h/x", "the scheme 'ftp' is not supported")]
    [InlineData("://h/x", "the scheme before :// is missing")]
    [InlineData("smb://u@h", "the share is missing")]
    [InlineData("smb://;u@h/s", "the domain before ';' is empty")]
    [InlineData("smb://u@h:445x/s", "the port '445x' is not a number from 1 to 65535")]
    [InlineData("nfs://h:70000/e", "the port '70000' is not a number from 1 to 65535")]
    [InlineData("nfs://u@h/e", "nfs:// takes no user name")]
    [InlineData("nfs://h", "the export's path is missing")]
    [InlineData("ssh://h/x", "the user name is missing")]
    [InlineData("ssh://u@h:0/x", "the port '0' is not a number from 1 to 65535")]
    [InlineData("ssh://u@h:ssh/x", "the port 'ssh' is not a number")]
    [InlineData("ssh://u@/x", "the host name is missing")]
    [InlineData("ssh://u@h$t/x", "the host name 'h$t' holds a character")]
    [InlineData("ssh://u@[::1/x", "no closing ']'")]
    [InlineData("ssh://u@h/a/../etc", "the path may not hold '..'")]
    [InlineData("dev://dev/sdb1", "three slashes")]
    [InlineData("dev:///dev/", "the partition's name is missing")]
    [InlineData("smb://u@h/s?vers=9", "vers=9 is not one of")]
    [InlineData("smb://u@h/s?sec=krb5", "the query options are vers= (the protocol version) and hostkey=")]
    [InlineData("smb://u@h/s?hostkey=SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", "hostkey= applies to ssh:// only")]
    [InlineData("ssh://u@h/x?hostkey=MD5:16:27:ac", "hostkey=MD5:16:27:ac is not a SHA256 fingerprint")]
    [InlineData("ssh://u@h/x?hostkey=SHA256:tooshort", "hostkey=SHA256:tooshort is not a SHA256 fingerprint")]
    [InlineData("ssh://u@h/x?vers=3", "vers= applies to smb:// and nfs:// only")]
    [InlineData("ssh://u@h/a%0Ab", "an escaped control character")]
    public void BadLocationsNameWhatIsWrong(string url, string reason)
    {
        var e = Assert.Throws<StoreException>(() => StoreLocation.Parse(url));

        Assert.Equal(StoreProblem.BadLocation, e.Problem);
        Assert.Contains(reason, e.Message);
        Assert.Contains("Give a local path, smb://", e.Message);
    }

    [Fact]
    public void APasswordInTheUrlIsRefusedAndNotRepeated()
    {
        var e = Assert.Throws<StoreException>(() => StoreLocation.Parse("smb://anna:S3cret!@nas/backups"));

        Assert.Contains("a password does not belong in the URL", e.Message);
        Assert.Contains("--password-file", e.Message);
        Assert.DoesNotContain("S3cret", e.Message);
        Assert.Contains("smb://anna:***@nas/backups", e.Message);
    }
}
