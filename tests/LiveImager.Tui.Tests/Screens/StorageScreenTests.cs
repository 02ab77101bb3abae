using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using LiveImager.Engine.Targets;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui.Screens;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests.Screens;

public class StorageScreenTests
{
    [Fact]
    public void ALocalDirectoryBecomesTheSessionsStoreWithItsFreeSpace()
    {
        using var store = new ScratchDirectory();
        using var tui = Open(out StorageScreen screen);
        tui.Press(Key.Tab);
        tui.Type(store.Path);
        tui.Press(Key.Enter);
        tui.WaitForText("free.");
        Assert.Equal(new StoreLocation(StoreKind.Local, store.Path), screen.LastLocation);
        Assert.Equal(store.Path, tui.Services.Session.StorePath);
        Assert.Equal(store.Path, tui.Services.Session.Store?.Directory);
        tui.AssertShows($"Images are kept in {store.Path}.");
    }

    [SkippableFact]
    public void AnSmbShareIsBuiltFromItsFieldsWithThePasswordMaskedAndRefusedInPlainWordsOnThisKernel()
    {
        Skip.If(new KernelSupport().Has("cifs"), "this kernel can mount SMB, so the refusal cannot be seen here");
        using var tui = Open(out StorageScreen screen);
        Choose(tui, 2);
        Fill(tui, "fileserver", "images", "lab/2026", "tech", "Sekr1tPw", "WORKGROUP");
        tui.AssertShows("Password:");
        string screenText = tui.Screen;
        Assert.DoesNotContain("Sekr1tPw", screenText, StringComparison.Ordinal);
        Assert.Contains("fileserver", screenText, StringComparison.Ordinal);
        tui.Press(Key.Enter);
        WaitForWords(tui, "cannot be used: this kernel cannot mount SMB shares");
        Assert.Equal(new StoreLocation(StoreKind.Smb, "/lab/2026", "fileserver", User: "tech", Domain: "WORKGROUP", Share: "images"),
            screen.LastLocation);
        Assert.DoesNotContain("Sekr1tPw", tui.Screen, StringComparison.Ordinal);
        Assert.Null(tui.Services.Session.StorePath);
    }

    [SkippableFact]
    public void AnNfsExportIsBuiltFromServerAndExport()
    {
        Skip.If(new KernelSupport().Has("nfs"), "this kernel can mount NFS, so the refusal cannot be seen here");
        using var tui = Open(out StorageScreen screen);
        Choose(tui, 3);
        Fill(tui, "nas.lab", "srv/images");
        tui.Press(Key.Enter);
        WaitForWords(tui, "nfs://nas.lab/srv/images cannot be used: this kernel cannot mount NFS exports");
        Assert.Equal(new StoreLocation(StoreKind.Nfs, "/srv/images", "nas.lab"), screen.LastLocation);
    }

    [Fact]
    public void ADevicePartitionThatIsNotThereIsRefused()
    {
        using var tui = Open(out StorageScreen screen);
        Choose(tui, 1);
        Fill(tui, "/dev/sdzz9", "images");
        tui.Press(Key.Enter);
        WaitForWords(tui, "dev:///dev/sdzz9/images cannot be used:");
        Assert.Equal(new StoreLocation(StoreKind.Device, "/images", Device: "/dev/sdzz9"), screen.LastLocation);
        Assert.Null(tui.Services.Session.StorePath);
    }

    [SkippableFact]
    public void APartitionIsMountedForTheSessionAndUnmountedWhenTheSessionEnds()
    {
        Privileges.RequireLoopDevices("attaching a loop device and mounting need root");
        ExternalTool.Require("losetup", "util-linux");
        using var scratch = new ScratchDirectory();
        Directory.CreateDirectory(scratch.File("content/images"));
        string image = scratch.SparseFile("store.img", 16 << 20);
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-d", scratch.File("content"), image);
        string loop = ExternalTool.Run("losetup", "-f", "--show", image).Trim();
        using var tui = Open(out _);
        try
        {
            Choose(tui, 1);
            Fill(tui, loop, "images");
            tui.Press(Key.Enter);
            WaitForWords(tui, $"dev://{loop}/images is ready:");
            Assert.Matches(@"ready: \d+\.\d [MK]B free\.", Flat(tui.Screen));
            MountedStore store = Assert.IsType<MountedStore>(tui.Services.Session.Store);
            Assert.Equal(Path.Combine(store.MountPoint!, "images"), tui.Services.Session.StorePath);
            Assert.Contains($"{loop} {store.MountPoint} ext4", File.ReadAllText("/proc/mounts"));

            tui.Services.Session.Dispose();
            Assert.DoesNotContain(store.MountPoint!, File.ReadAllText("/proc/mounts"));
            Assert.False(Directory.Exists(store.MountPoint));
        }
        finally
        {
            tui.Services.Session.Dispose();
            ExternalTool.Run("losetup", "-d", loop);
        }
    }

    [SkippableFact]
    public void AnSshStoreOnAClosedPortIsReportedUnreachableWithoutShowingThePassword()
    {
        Privileges.RequireRoot("mounting creates its mount point under /run/liveimager, which needs root");
        int port = ClosedPort();
        using var tui = Open(out StorageScreen screen);
        Choose(tui, 4);
        Fill(tui, $"tech@127.0.0.1:{port}", "/srv/images", "Sekr1tPw", "");
        Assert.DoesNotContain("Sekr1tPw", tui.Screen, StringComparison.Ordinal);
        tui.Press(Key.Enter);
        WaitForWords(tui, "cannot be used");
        Assert.Equal(new StoreLocation(StoreKind.Ssh, "/srv/images", "127.0.0.1", port, "tech"), screen.LastLocation);
        WaitForWords(tui, $"ssh://tech@127.0.0.1:{port}/srv/images cannot be used: cannot reach 127.0.0.1 on port {port}");
        Assert.DoesNotContain("Sekr1tPw", tui.Screen, StringComparison.Ordinal);
    }

    [Fact]
    public void AMalformedSshHostKeyIsRefusedOnTheFormBeforeAnyMount()
    {
        using var tui = Open(out StorageScreen screen);
        Choose(tui, 4);
        Fill(tui, "tech@nas.lab", "/srv/images", "", "", "SHA256:not-a-fingerprint");
        tui.AssertShows("Host key:");
        tui.Press(Key.Enter);
        WaitForWords(tui, "hostkey=SHA256:not-a-fingerprint is not a SHA256 fingerprint as `ssh-keygen -lf KEY.pub` prints it");
        Assert.DoesNotContain("Mounting", tui.Screen, StringComparison.Ordinal);
        Assert.Null(screen.LastLocation);
        Assert.Null(tui.Services.Session.StorePath);
    }

    [SkippableFact]
    public void AFailureInAMountedStoreNamesTheStoresUrlNotItsMountPoint()
    {
        Privileges.RequireLoopDevices("attaching a loop device and mounting need root");
        ExternalTool.Require("losetup", "util-linux");
        using var scratch = new ScratchDirectory();
        Directory.CreateDirectory(scratch.File("content/images"));
        File.WriteAllText(scratch.File("content/images/laptop.limg"), "");
        string image = scratch.SparseFile("store.img", 16 << 20);
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-d", scratch.File("content"), image);
        string loop = ExternalTool.Run("losetup", "-f", "--show", image).Trim();
        var jobs = new ScriptedJobs();
        using var tui = Open(out _, new TuiServices { Jobs = jobs });
        try
        {
            Choose(tui, 1);
            Fill(tui, loop, "images");
            tui.Press(Key.Enter);
            WaitForWords(tui, $"dev://{loop}/images is ready:");
            string mounted = tui.Services.Session.StorePath!;
            tui.Press(Key.Esc);
            tui.Press((Key)'3');
            tui.Press(Key.A.WithCtrl);
            tui.Press(Key.Delete);
            tui.Type(mounted + "/laptop.limg");
            tui.Press(Key.Enter);
            tui.WaitFor(() => jobs.Request is not null, "the verify to start");

            jobs.Fail(new IOException($"Input/output error : '{mounted}/laptop.limg'"));
            tui.WaitFor(() => tui.Host.Top is ResultScreen, "the result");
            WaitForWords(tui, $"Input/output error : 'dev://{loop}/images/laptop.limg'");
            Assert.DoesNotContain("/run/liveimager/mnt", Flat(tui.Screen), StringComparison.Ordinal);
        }
        finally
        {
            tui.Services.Session.Dispose();
            ExternalTool.Run("losetup", "-d", loop);
        }
    }

    internal static TuiHarness Open(out StorageScreen screen, TuiServices? services = null)
    {
        var tui = new TuiHarness(services ?? new TuiServices());
        tui.Press((Key)'5');
        screen = Assert.IsType<StorageScreen>(tui.Host.Top);
        return tui;
    }

    internal static void Choose(TuiHarness tui, int row)
    {
        for (int i = 0; i < row; i++)
        {
            tui.Press(Key.CursorDown);
        }
    }

    /// <summary>Tabs into each field in turn and replaces its text.</summary>
    internal static void Fill(TuiHarness tui, params string[] values)
    {
        foreach (string value in values)
        {
            tui.Press(Key.Tab);
            tui.Press(Key.A.WithCtrl);
            tui.Press(Key.Delete);
            tui.Type(value);
        }
    }

    /// <summary>Waits until the screen's text, with borders and line wraps taken out, holds <paramref name="words"/>;
    /// spaces are left out of both, since a URL or fingerprint longer than a line is cut anywhere.</summary>
    internal static void WaitForWords(TuiHarness tui, string words) =>
        tui.WaitFor(() => Flat(tui.Screen).Replace(" ", "", StringComparison.Ordinal).Contains(words.Replace(" ", "", StringComparison.Ordinal),
            StringComparison.Ordinal), $"'{words}'");

    internal static string Flat(string screen) => Regex.Replace(screen.Replace('│', ' '), @"\s+", " ");

    /// <summary>A local port nothing listens on: bound, then released.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
