using LiveImager.Engine.Deploy;
using LiveImager.Engine.Devices;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Deploy;

/// <summary>Where the unattended job comes from: /proc/cmdline as the kernel keeps it, the conf file, and which wins.</summary>
public sealed class UnattendedConfigTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void NothingConfiguredIsNoJob()
    {
        Assert.Null(UnattendedConfig.Load(KernelCommandLine.Parse("boot=live quiet"), _scratch.File("absent.conf")));
        Assert.Null(UnattendedConfig.Load(KernelCommandLine.Parse("boot=live"), Conf("# only a comment", "after = shell", "password = x")));
    }

    [Fact]
    public void TheKernelCommandLineJobKeepsItsInnerQuotes()
    {
        UnattendedConfig config = UnattendedConfig.Load(KernelCommandLine.Parse(
            "BOOT_IMAGE=/live/vmlinuz boot=live liveimager.run=\"capture /dev/sda 'ssh://tech@10.0.2.2/srv/my images/pc.lim' --level 5\" " +
            "liveimager.after=reboot quiet\n"), _scratch.File("absent.conf"))!;

        Assert.Equal(["capture", "/dev/sda", "ssh://tech@10.0.2.2/srv/my images/pc.lim", "--level", "5"], config.Arguments);
        Assert.Equal("capture", config.Verb);
        Assert.Equal(AfterJob.Reboot, config.After);
        Assert.Null(config.Password);
    }

    [Fact]
    public void TheConfFileGivesJobAfterAndPassword()
    {
        UnattendedConfig config = UnattendedConfig.Load(KernelCommandLine.Empty, Conf(
            "# mass deployment, room 12",
            "",
            "  run = restore 'nfs://10.0.0.5/srv/images/pc 1.lim' /dev/sda /dev/sdb --yes  ",
            "after=shell",
            "password = s3cret = # not a comment"))!;

        Assert.Equal(["restore", "nfs://10.0.0.5/srv/images/pc 1.lim", "/dev/sda", "/dev/sdb", "--yes"], config.Arguments);
        Assert.Equal("restore 'nfs://10.0.0.5/srv/images/pc 1.lim' /dev/sda /dev/sdb --yes", config.Line);
        Assert.Equal(AfterJob.Shell, config.After);
        Assert.Equal("s3cret = # not a comment", config.Password);
    }

    /// <summary>An encrypted image's passphrase comes from the conf file only, kept whole (an '=' or '#' in it included),
    /// and the job line, which goes into the results, never holds it.</summary>
    [Fact]
    public void TheConfFileGivesAnEncryptedImagesPassphraseApartFromTheJobLine()
    {
        UnattendedConfig config = UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.run=\"restore /srv/pc.lim /dev/sda --yes\""), Conf(
            "password = store-secret",
            "passphrase = open = sesame # all of it"))!;

        Assert.Equal("open = sesame # all of it", config.Passphrase);
        Assert.Equal("store-secret", config.Password);
        Assert.DoesNotContain("sesame", config.Line);
        Assert.Null(UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.run=\"verify /a.lim\""), _scratch.File("absent.conf"))!.Passphrase);
    }

    /// <summary>fit = yes makes a restore a --fit one; liveimager.fit= on the kernel command line wins; anything but yes
    /// or no is a bad configuration naming the line; without the key a job is no fit job.</summary>
    [Fact]
    public void FitComesFromTheConfFileOrTheKernelCommandLineAndIsYesOrNo()
    {
        string conf = Conf("run = restore /srv/pc.lim /dev/sda --yes", "fit = yes");
        Assert.True(UnattendedConfig.Load(KernelCommandLine.Empty, conf)!.Fit);
        Assert.False(UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.fit=no"), conf)!.Fit);
        Assert.True(UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.run=\"restore /a.lim /dev/sda --yes\" liveimager.fit=yes"),
            _scratch.File("absent.conf"))!.Fit);
        Assert.False(UnattendedConfig.Load(KernelCommandLine.Empty, Conf("run = restore /srv/pc.lim /dev/sda --yes"))!.Fit);

        string maybe = Conf("run = restore /srv/pc.lim /dev/sda --yes", "fit = maybe");
        var e = Assert.Throws<UnattendedConfigException>(() => UnattendedConfig.Load(KernelCommandLine.Empty, maybe));
        Assert.Equal($"{maybe} line 2: fit = 'maybe' is not yes or no", e.Message);
    }

    [Fact]
    public void TheKernelCommandLineWinsKeyByKey()
    {
        string conf = Conf("run = verify /srv/conf.lim", "after = shell", "password = from-conf");

        UnattendedConfig runOnly = UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.run=\"verify /srv/cmdline.lim\""), conf)!;
        UnattendedConfig afterOnly = UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.after=reboot"), conf)!;

        Assert.Equal(["verify", "/srv/cmdline.lim"], runOnly.Arguments);
        Assert.Equal(AfterJob.Shell, runOnly.After);
        Assert.Equal("from-conf", runOnly.Password);
        Assert.Equal(["verify", "/srv/conf.lim"], afterOnly.Arguments);
        Assert.Equal(AfterJob.Reboot, afterOnly.After);
    }

    [Fact]
    public void AfterDefaultsToPowerOff()
    {
        Assert.Equal(AfterJob.PowerOff, UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.run=\"verify /a.lim\""), _scratch.File("x"))!.After);
    }

    /// <summary>A mistyped key names file and line and the key meant; the refusal carries the job, so that it can be
    /// reported on the job's store.</summary>
    [Fact]
    public void AnUnknownKeyNamesFileAndLineAndTheKeyMeant()
    {
        string conf = Conf("run = verify /a.lim", "# fine", "pasword = typo");
        var error = Assert.Throws<UnattendedConfigException>(() => UnattendedConfig.Load(KernelCommandLine.Empty, conf));
        Assert.Equal($"{conf} line 3: unknown key 'pasword' (keys: run, after, password, passphrase, fit); did you mean 'password'?", error.Message);
        Assert.DoesNotContain("typo", error.Message);
        Assert.Equal(["verify", "/a.lim"], error.Job?.Arguments);
        Assert.Null(error.Job?.Password);
    }

    /// <summary>A mistyped run key is a bad configuration, not "nothing configured": the job must not silently vanish.</summary>
    [Fact]
    public void AMistypedRunKeyIsRefusedNotIgnored()
    {
        string conf = Conf("rnu = restore /srv/a.lim /dev/sda --yes");
        var error = Assert.Throws<UnattendedConfigException>(() => UnattendedConfig.Load(KernelCommandLine.Empty, conf));
        Assert.Equal($"{conf} line 1: unknown key 'rnu' (keys: run, after, password, passphrase, fit); did you mean 'run'?", error.Message);
        Assert.Null(error.Job);
    }

    [Fact]
    public void EveryBadLineIsNamed()
    {
        string conf = Conf("run = verify /a.lim", "colour = blue", "after: shell");
        var error = Assert.Throws<UnattendedConfigException>(() => UnattendedConfig.Load(KernelCommandLine.Empty, conf));
        Assert.Equal($"{conf} line 2: unknown key 'colour' (keys: run, after, password, passphrase, fit); " +
            $"{conf} line 3: expected 'key = value' (keys: run, after, password, passphrase, fit)", error.Message);
    }

    [Fact]
    public void ALineWithoutEqualsNamesFileAndLine()
    {
        string conf = Conf("run verify /a.lim");
        var error = Assert.Throws<UnattendedConfigException>(() => UnattendedConfig.Load(KernelCommandLine.Empty, conf));
        Assert.Equal($"{conf} line 1: expected 'key = value' (keys: run, after, password, passphrase, fit)", error.Message);
    }

    [Fact]
    public void AnUnknownAfterIsRefusedNamingItsSource()
    {
        var fromCmdline = Assert.Throws<UnattendedConfigException>(() =>
            UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.run=\"verify /a.lim\" liveimager.after=halt"), _scratch.File("x")));
        var fromConf = Assert.Throws<UnattendedConfigException>(() => UnattendedConfig.Load(KernelCommandLine.Empty, Conf("run = verify /a.lim", "after = sleep")));
        Assert.Equal("liveimager.after (kernel command line): after = 'halt' is not poweroff, reboot or shell", fromCmdline.Message);
        Assert.EndsWith("line 2: after = 'sleep' is not poweroff, reboot or shell", fromConf.Message);
    }

    [Theory]
    [InlineData("list --json")]
    [InlineData("unattended")]
    [InlineData("inspect /dev/sda")]
    public void OnlyCaptureRestoreAndVerifyMayRun(string line)
    {
        var error = Assert.Throws<UnattendedConfigException>(() =>
            UnattendedConfig.Load(KernelCommandLine.Parse($"liveimager.run=\"{line}\""), _scratch.File("x")));
        Assert.Equal($"liveimager.run (kernel command line): '{line.Split(' ')[0]}' cannot run unattended; a job is one of capture, restore, verify: {line}",
            error.Message);
    }

    [Fact]
    public void ARestoreMustSayYes()
    {
        var error = Assert.Throws<UnattendedConfigException>(() => UnattendedConfig.Load(KernelCommandLine.Empty, Conf("run = restore /a.lim /dev/sda")));
        Assert.EndsWith("line 1: an unattended restore overwrites its targets without asking; say so with --yes: restore /a.lim /dev/sda", error.Message);
    }

    [Fact]
    public void ABadlyQuotedJobIsABadConfiguration()
    {
        var error = Assert.Throws<UnattendedConfigException>(() =>
            UnattendedConfig.Load(KernelCommandLine.Parse("liveimager.run=\"capture /dev/sda 'x\""), _scratch.File("x")));
        Assert.StartsWith("liveimager.run (kernel command line): the ' at character 18", error.Message);
    }

    private string Conf(params string[] lines)
    {
        string path = _scratch.File($"liveimager-{Guid.NewGuid():N}.conf");
        File.WriteAllLines(path, lines);
        return path;
    }
}
