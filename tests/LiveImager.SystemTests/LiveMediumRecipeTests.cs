using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>The live medium's recipe, checked without building it: the build script's own --check mode writes the
/// app layer, the GRUB menu and the early GRUB config; the tests read what a booted system would get.</summary>
[Collection(SystemTestCollection.Name)]
[SupportedOSPlatform("linux")]
public sealed class LiveMediumRecipeTests : IDisposable
{
    private const string CheckMedium = "2000-01-01-00-00-00-00";
    private static readonly string[] s_requiredPackages =
    [
        "linux-image-amd64", "live-boot", "systemd-sysv", "udev", "util-linux", "fdisk", "gdisk", "e2fsprogs", "dosfstools",
        "exfatprogs", "ntfs-3g", "cifs-utils", "nfs-common", "sshfs", "openssh-client", "smartmontools", "udpcast", "partclone",
        "libnbd-bin", "nbdkit",
    ];

    private readonly ScratchDirectory _scratch = new();
    private readonly string _repo = RepositoryScripts.Repository;

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void BootMenuHasEveryEntryWithTheMediumIdOnTheSerialLineToo()
    {
        string output = BuildCheck();
        string grub = File.ReadAllText(Path.Combine(output, "grub.cfg"));

        Assert.Contains("terminal_input serial console", grub);
        Assert.Contains("terminal_output serial console", grub);
        Assert.Contains($"search --no-floppy --set=root --file /.disk/live-uuid-{CheckMedium}", grub);
        var entries = Regex.Matches(grub, @"menuentry ""[^""]+"" --hotkey=(\w) --id=(\w+) \{\n  linux /live/vmlinuz ([^\n]*)\n  initrd /live/initrd.img\n\}")
            .ToDictionary(m => m.Groups[2].Value, m => (Hotkey: m.Groups[1].Value, Parameters: m.Groups[3].Value.Split(' ')));
        Assert.Equal(["default", "serial", "toram", "unattended"], entries.Keys.Order());
        Assert.Equal(4, Regex.Matches(grub, "(?m)^menuentry ").Count);
        Assert.Equal(entries.Count, entries.Values.Select(e => e.Hotkey).Distinct().Count());
        foreach ((_, string[] parameters) in entries.Values)
        {
            Assert.Contains("boot=live", parameters);
            Assert.Contains($"liveimager.medium={CheckMedium}", parameters);
        }
        Assert.Contains("quiet", entries["default"].Parameters);
        Assert.Contains("loglevel=3", entries["default"].Parameters);
        Assert.Contains("console=ttyS0,115200n8", entries["serial"].Parameters);
        Assert.Contains("liveimager.tty=ttyS0", entries["serial"].Parameters);
        Assert.Contains("toram", entries["toram"].Parameters);
        // Only the unattended entry lets a liveimager.conf on the stick run its job.
        Assert.Equal(["unattended"], entries.Where(e => e.Value.Parameters.Contains("liveimager.unattended")).Select(e => e.Key));

        string early = File.ReadAllText(Path.Combine(output, "early.cfg"));
        Assert.Contains($"--file /.disk/live-uuid-{CheckMedium}", early);
        Assert.Contains("configfile $prefix/grub.cfg", early);
    }

    [SkippableFact]
    public void AppLayerHoldsTheBinaryTheSessionAndTheUnitsThatStartIt()
    {
        string app = Path.Combine(BuildCheck(), "app");

        Assert.Equal(File.ReadAllBytes(PublishedBinary.Require()), File.ReadAllBytes(Path.Combine(app, "usr/bin/liveimager")));
        foreach (string script in (string[])["usr/lib/liveimager/session", "usr/lib/liveimager/copy-conf"])
        {
            Assert.True(File.GetUnixFileMode(Path.Combine(app, script)).HasFlag(UnixFileMode.UserExecute), $"{script} is not executable");
        }
        foreach (string getty in (string[])["getty@tty1.service.d", "serial-getty@ttyS0.service.d"])
        {
            string dropIn = File.ReadAllText(Path.Combine(app, "etc/systemd/system", getty, "liveimager.conf"));
            Assert.Matches(@"(?m)^ExecStart=-/sbin/agetty .*--autologin root --login-program /usr/lib/liveimager/session ", dropIn);
        }
        string conf = File.ReadAllText(Path.Combine(app, "etc/systemd/system/liveimager-conf.service"));
        Assert.Contains("ExecStart=/usr/lib/liveimager/copy-conf", conf);
        Assert.Contains("Before=getty@tty1.service serial-getty@ttyS0.service", conf);
        Assert.Equal("../liveimager-conf.service",
            new FileInfo(Path.Combine(app, "etc/systemd/system/multi-user.target.wants/liveimager-conf.service")).LinkTarget);
        string session = File.ReadAllText(Path.Combine(app, "usr/lib/liveimager/session"));
        Assert.Contains("flock -n 9", session);
        Assert.Contains("/run/liveimager/tui.lock", session);
        if (ExternalTool.Exists("mksquashfs"))
        {
            Assert.True(new FileInfo(Path.Combine(Path.GetDirectoryName(app)!, "zz-app.squashfs")).Length > 0);
        }
    }

    [Fact]
    public void AStickBootedWithAnEntryOtherThanUnattendedLeavesItsConfAlone()
    {
        string cmdline = _scratch.File("cmdline");
        File.WriteAllText(cmdline, "boot=live quiet loglevel=3 liveimager.medium=2026-11-25-13-17-09-00\n");
        var copy = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(_repo, "live-image/overlay/app/usr/lib/liveimager/copy-conf")])
        {
            RedirectStandardOutput = true,
            Environment = { ["LIVEIMAGER_CMDLINE"] = cmdline },
        };
        using var process = System.Diagnostics.Process.Start(copy)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("not the unattended boot entry", output);
    }

    [Fact]
    public void PackageListHasTheImagingAndStorageTools()
    {
        string[] packages = File.ReadAllLines(Path.Combine(_repo, "live-image/packages.list"))
            .Select(line => line.Split('#')[0].Trim()).Where(line => line.Length > 0).ToArray();
        Assert.Empty(s_requiredPackages.Except(packages));
        Assert.Equal(packages.Length, packages.Distinct().Count());
        Assert.True(File.Exists(Path.Combine(_repo, "live-image/overlay/base/etc/systemd/network/80-wired-dhcp.network")));
        Assert.True(Directory.Exists(Path.Combine(_repo, "live-image/overlay/base/etc/network")));
    }

    [Fact]
    public void EveryShellScriptParses()
    {
        string[] scripts = Directory.EnumerateFiles(Path.Combine(_repo, "scripts"), "*.sh", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(_repo, "live-image/hooks")))
            .Concat(Directory.EnumerateFiles(Path.Combine(_repo, "live-image/overlay/app/usr/lib/liveimager")))
            .ToArray();
        Assert.Contains(scripts, s => s.EndsWith("build-live-image.sh", StringComparison.Ordinal));
        foreach (string script in scripts)
        {
            ExternalTool.Run("bash", "-n", script);
        }
    }

    private string BuildCheck()
    {
        PublishedBinary.Require();
        string output = _scratch.File("check");
        ExternalTool.Run("bash", Path.Combine(_repo, "scripts/build-live-image.sh"), "--check", output);
        return output;
    }
}
