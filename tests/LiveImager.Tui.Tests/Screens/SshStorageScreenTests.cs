using LiveImager.Engine.Targets;
using LiveImager.Engine.Tests.Targets;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Screens;
using Terminal.Gui.Input;
using Xunit;
using static LiveImager.Tui.Tests.Screens.StorageScreenTests;

namespace LiveImager.Tui.Tests.Screens;

/// <summary>The Storage screen's SSH form against the fixture's real sshd: the host key trusted on first use is shown
/// to be checked, and a pinned one is carried in the location and checked.</summary>
[Collection(SshServerCollection.Name)]
public sealed class SshStorageScreenTests(SshServerFixture server)
{
    /// <summary>Where the TUI's mounter remembers host keys trusted on first use (its default runtime directory).</summary>
    private static readonly string s_knownHosts = new StoreOptions().KnownHostsFile;

    [SkippableFact]
    public void TheHostKeyTrustedOnFirstUseIsShownAndAPinnedOneIsChecked()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        string remote = server.NewDirectory();
        string knownName = SshHostKeys.KnownHostsName("127.0.0.1", server.Port);
        // A key left from an earlier run's server on the same port would be refused as changed.
        ForgetHostKey(knownName);
        try
        {
            using (var tui = Open(out StorageScreen screen))
            {
                using TuiSession session = tui.Services.Session;
                Choose(tui, 4);
                Fill(tui, $"{SshServerFixture.User}@127.0.0.1:{server.Port}", remote, "", server.KeyFile, "");
                tui.Press(Key.Enter);
                WaitForWords(tui, $"{server.Url(remote)} is ready:");
                WaitForWords(tui, $"Not pinned: its SSH host key {server.HostKeyFingerprint} was trusted on first use.");
                Assert.Null(screen.LastLocation!.HostKey);
            }

            using (var tui = Open(out StorageScreen screen))
            {
                using TuiSession session = tui.Services.Session;
                Choose(tui, 4);
                Fill(tui, $"{SshServerFixture.User}@127.0.0.1:{server.Port}", remote, "", server.KeyFile, server.HostKeyFingerprint);
                tui.Press(Key.Enter);
                WaitForWords(tui, $"{server.Url(remote)} is ready:");
                WaitForWords(tui, $"Its SSH host key is the pinned {server.HostKeyFingerprint}.");
                WaitForWords(tui, $"Images are kept in {server.Url(remote)}.");
                Assert.Equal(new StoreLocation(StoreKind.Ssh, remote, "127.0.0.1", server.Port, SshServerFixture.User,
                    HostKey: server.HostKeyFingerprint), screen.LastLocation);
                MountedStore store = Assert.IsType<MountedStore>(tui.Services.Session.Store);
                Assert.True(store.HostKeyPinned);
            }
        }
        finally
        {
            ForgetHostKey(knownName);
        }
    }

    private static void ForgetHostKey(string knownName)
    {
        if (File.Exists(s_knownHosts))
        {
            ExternalTool.RunUnchecked("ssh-keygen", null, "-R", knownName, "-f", s_knownHosts);
            File.Delete(s_knownHosts + ".old");
        }
    }
}
