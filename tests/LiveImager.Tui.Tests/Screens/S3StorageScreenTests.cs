using LiveImager.Engine.Targets;
using LiveImager.Engine.Tests.Targets;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui.Screens;
using Terminal.Gui.Input;
using Xunit;
using static LiveImager.Tui.Tests.Screens.StorageScreenTests;

namespace LiveImager.Tui.Tests.Screens;

/// <summary>The Storage screen's S3 form against a real S3 server on 127.0.0.1 (<see cref="S3ServerFixture"/>): the
/// location built from the fields and checked by the Engine's parser, the secret masked and checked by the server, and
/// the opened bucket then used by the session's capture, listing and verify as a directory is.</summary>
public sealed class S3StorageScreenTests(S3ServerFixture server) : IClassFixture<S3ServerFixture>
{
    [SkippableFact]
    public void ABucketIsOpenedFromItsFieldsAndTheSessionCapturesListsAndVerifiesThere()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        using var scratch = new ScratchDirectory();
        string disk = scratch.SparseFile("disk.img", 16L << 20);
        ExternalTool.Run("mkfs.ext4", "-q", disk);
        using var tui = Open(out StorageScreen screen);
        using TuiSession session = tui.Services.Session;

        Choose(tui, 5);
        Fill(tui, $"127.0.0.1:{server.Port}", "images/tui/room-1", server.AccessKey, server.Secret, "", "y");
        tui.AssertShows("Secret key:");
        Assert.DoesNotContain(server.Secret, tui.Screen, StringComparison.Ordinal);
        tui.Press(Key.Enter);
        string url = $"s3://{server.AccessKey}@127.0.0.1:{server.Port}/images/tui/room-1";
        WaitForWords(tui, $"{url} is ready: an object store");
        WaitForWords(tui, $"Images are kept in {url}.");

        Assert.Equal(new StoreLocation(StoreKind.S3, "/tui/room-1", "127.0.0.1", server.Port, server.AccessKey, Share: "images",
            S3: new S3Addressing(PlainHttp: true)), screen.LastLocation);
        Assert.DoesNotContain(server.Secret, tui.Screen, StringComparison.Ordinal);
        Assert.NotNull(session.ObjectStore);
        Assert.Equal(url + "?tls=0", session.StorePath);

        // The session's store as the capture, restore and verify screens use it.
        var jobs = new EngineJobRunner(null);
        var source = new DiskChoice("disk.img", disk, 16L << 20, "disk.img", "file", "file", [], null, false);
        JobOutcome captured = jobs.CaptureAsync(new CaptureRequest(source, session.StorePath!, "pc.lim", 3, 0, VerifyAfter: false),
            new Progress<JobProgress>(), CancellationToken.None).GetAwaiter().GetResult();
        Assert.True(captured.Succeeded, captured.Error);
        Assert.Equal(["pc.lim"], server.Objects("tui/room-1"));
        IReadOnlyList<ImageSummary> listed = new EngineImageCatalog().ListAsync(session.StorePath!, CancellationToken.None).GetAwaiter().GetResult();
        ImageSummary image = Assert.Single(listed);
        Assert.Null(image.Problem);
        Assert.Equal("pc.lim", image.Name);
        string typed = StoreDirectory.Prefix(session.StorePath!) + "pc.lim";
        Assert.Equal(url + "/pc.lim", typed);
        Assert.True(StoreDirectory.ImageExists(StoreDirectory.Image(typed)));
        JobOutcome verified = jobs.VerifyAsync(StoreDirectory.Image(typed), new Progress<JobProgress>(), CancellationToken.None).GetAwaiter().GetResult();
        Assert.True(verified.Succeeded, verified.Error);
    }

    [SkippableFact]
    public void AWrongSecretIsRefusedInPlainWordsAndTheSessionKeepsNoStore()
    {
        Skip.If(server.SkipReason is not null, server.SkipReason);
        using var tui = Open(out StorageScreen screen);
        using TuiSession session = tui.Services.Session;

        Choose(tui, 5);
        Fill(tui, $"127.0.0.1:{server.Port}", "images", server.AccessKey, "not-the-secret", "eu-west-3", "y");
        tui.Press(Key.Enter);

        WaitForWords(tui, $"wrong secret key for access key {server.AccessKey}");
        Assert.Equal(new S3Addressing("eu-west-3", PlainHttp: true), screen.LastLocation!.S3);
        Assert.Null(session.ObjectStore);
        Assert.Null(session.StorePath);
        Assert.DoesNotContain("not-the-secret", tui.Screen, StringComparison.Ordinal);
    }

    [Fact]
    public void ARegionWithQuerySyntaxIsRefusedByTheParserBeforeAnyRequest()
    {
        using var tui = Open(out StorageScreen screen);
        Choose(tui, 5);
        Fill(tui, "nas.lab:9000", "images", "KEY", "secret", "x&style=virtual", "n");
        tui.Press(Key.Enter);

        WaitForWords(tui, "is not a region name");
        Assert.Null(screen.LastLocation);
        Assert.Null(tui.Services.Session.StorePath);
    }
}
