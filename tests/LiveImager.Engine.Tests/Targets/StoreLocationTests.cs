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
    [InlineData("ssh://u@h/a%00b", "an escaped control character")]
    [InlineData("smb:/host/share/x.lim", "'smb:' must be followed by two slashes, as in smb://[domain;]user@host[:port]/share/path")]
    [InlineData("smb:host/share", "'smb:' must be followed by two slashes")]
    [InlineData("nfs:x", "'nfs:' must be followed by two slashes, as in nfs://host[:port]/export/path")]
    [InlineData("ssh:/u@h/x", "'ssh:' must be followed by two slashes")]
    [InlineData("dev:/dev/sdb1", "'dev:' must be followed by two slashes")]
    [InlineData("ftp:/h/x", "the scheme 'ftp' is not supported")]
    [InlineData("smb:///share/x", "the host name is missing")]
    [InlineData("smb://u@h//x", "the path holds an empty segment")]
    [InlineData("smb://u@h/s//x", "the path holds an empty segment")]
    [InlineData("smb://u@h/s/a b", "the character ' ' does not belong in a URL")]
    [InlineData("smb://u@h\\s/x", "the character '\\' does not belong in a URL")]
    [InlineData("smb://u@h/s/x|y", "the character '|' does not belong in a URL")]
    [InlineData("smb://u@h/s/100%", "a '%' must be followed by two hex digits")]
    [InlineData("smb://anna@nas/img,ip=10.9.9.9,sec=none/dir", "the share name 'img,ip=10.9.9.9,sec=none' may not hold ','")]
    [InlineData("smb://anna@nas/img%2Cip=10.9.9.9/dir", "the share name 'img,ip=10.9.9.9' may not hold ','")]
    [InlineData("smb://-oProxyCommand@nas/s", "the user name '-oProxyCommand' may not start with '-'")]
    [InlineData("smb://-x;anna@nas/s", "the domain '-x' may not start with '-'")]
    [InlineData("ssh://%2Do@h/x", "the user name '-o' may not start with '-'")]
    [InlineData("ssh://u@-oProxyCommand=x/x", "the host name '-oProxyCommand=x' holds a character")]
    [InlineData("ssh://u@-evil/x", "the host name '-evil' may not start with '-'")]
    [InlineData("nfs://h/.", "the path may not hold '.'")]
    [InlineData("smb://u@h/../x", "the path may not hold '..'")]
    [InlineData("dev:///dev/../etc/x", "the path may not hold '..'")]
    public void BadLocationsNameWhatIsWrong(string url, string reason)
    {
        var e = Assert.Throws<StoreException>(() => StoreLocation.Parse(url));

        Assert.Equal(StoreProblem.BadLocation, e.Problem);
        Assert.Contains(reason, e.Message);
        Assert.Contains("Give a local path, smb://", e.Message);
    }

    /// <summary>Issue #24, hole 1: the segments were decoded after the '..' test, so an escaped '/' made '..'
    /// segments that the mounter joined onto its mount point (a capture wrote into the live system's /etc).</summary>
    [Theory]
    [InlineData("smb://anna@nas/images/..%2F..%2F..%2F..%2Fetc/pc.lim")]
    [InlineData("smb://anna@nas/images/..%2f..%2fetc/pc.lim")]
    [InlineData("smb://anna@nas/images/%2e%2e/%2E%2E/etc/pc.lim")]
    [InlineData("smb://anna@nas/images/.%2e/etc/pc.lim")]
    [InlineData("smb://anna@nas/images/%2e%2e%2F.%2E%2fetc/pc.lim")]
    [InlineData("smb://anna@nas/%2e%2e/etc")]
    [InlineData("dev:///dev/sdb1/..%2F..%2Fetc/pc.lim")]
    [InlineData("dev:///dev/%2e%2e/sda")]
    [InlineData("ssh://u@h/srv/%2e%2e/%2e%2e/etc")]
    [InlineData("nfs://h/export/..%2Fetc")]
    public void EscapedDotsAndSlashesAreRefusedBeforeAnyMount(string url)
    {
        var e = Assert.Throws<StoreException>(() => StoreLocation.Parse(url));

        Assert.Equal(StoreProblem.BadLocation, e.Problem);
        Assert.Matches("may not hold '\\.\\.?'|a '/' may not be escaped", e.Message);
    }

    [Theory]
    [InlineData("smb:/host/share/x.lim")]
    [InlineData("nfs:host/x")]
    [InlineData("ftp:/x")]
    [InlineData("SSH:x")]
    public void AMistypedUrlIsNeverALocalPath(string text)
    {
        Assert.True(StoreLocation.IsUrl(text));
        Assert.Throws<StoreException>(() => StoreLocation.Parse(text));
    }

    [Theory]
    [InlineData("backup:2024.lim")]
    [InlineData("./smb:/host")]
    [InlineData("/srv/images")]
    public void ALocalPathMayHoldAColonWhereNoSchemeCanBe(string text)
    {
        Assert.False(StoreLocation.IsUrl(text));
        Assert.Equal(StoreKind.Local, StoreLocation.Parse(text).Kind);
    }

    [Fact]
    public void ATrailingSlashIsAllowed()
    {
        Assert.Equal("/pc", StoreLocation.Parse("smb://u@h/s/pc/").Path);
        Assert.Equal("/export", StoreLocation.Parse("nfs://h/export/").Path);
    }

    [Theory]
    [InlineData("smb://OFFICE;anna@nas.local/backups/pc%20one/100%25?vers=3.0")]
    [InlineData("smb://192.168.1.5/public")]
    [InlineData("nfs://[fd00::5]:2049/x/a%3Fb")]
    [InlineData("ssh://backup@nas:2222/srv/images?hostkey=SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8")]
    [InlineData("dev:///dev/disk/by-label/USB/img")]
    public void ToUrlParsesBackToTheSameLocation(string url)
    {
        StoreLocation location = StoreLocation.Parse(url);

        Assert.Equal(location, StoreLocation.Parse(location.ToUrl()));
    }

    [Fact]
    public void FieldsFromAFormAreCheckedByTheSameParser()
    {
        var form = new StoreLocation(StoreKind.Smb, "/x", "nas", User: "anna", Share: "img,ip=10.9.9.9");

        var e = Assert.Throws<StoreException>(() => StoreLocation.Parse(form.ToUrl()));

        Assert.Contains("may not hold ','", e.Message);
        Assert.Equal("/../etc", StoreLocation.EscapePath("/../etc"));
        Assert.Throws<StoreException>(() => StoreLocation.Parse((form with { Share = "s", Path = "/a/../../etc" }).ToUrl()));
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
