using LiveImager.Engine.Imaging;
using LiveImager.Formats.Tests.Support;
using LiveImager.Tui;
using LiveImager.Tui.Tests.Support;
using Terminal.Gui.Input;
using Xunit;

namespace LiveImager.Tui.Tests;

/// <summary>`make screenshots`: the main screens rendered at 80x25 as text into docs/screens, from the example disks and image the tests use.</summary>
/// <remarks>A renderer, not a test: `make test` leaves its category out (scripts/run-tests.sh), so it is never counted.</remarks>
[Trait("Category", "Screenshots")]
public class Screenshots
{
    private static readonly DateTimeOffset s_today = new(2026, 11, 25, 9, 30, 0, TimeSpan.Zero);

    [SkippableFact]
    public void RenderTheMainScreens()
    {
        string? target = Environment.GetEnvironmentVariable("LIVEIMAGER_SCREENSHOTS");
        Skip.If(target is null, "Set LIVEIMAGER_SCREENSHOTS to a directory (make screenshots does) to render the screens.");
        Directory.CreateDirectory(target);
        using var store = new ScratchDirectory();
        // The scratch directory is shown as /mnt/images, with the right border put back where it belongs.
        void Save(string name, TuiHarness tui)
        {
            Assert.False(string.IsNullOrWhiteSpace(tui.Screen), $"the {name} screen rendered nothing");
            File.WriteAllLines(Path.Combine(target, name + ".txt"), tui.Screen.TrimEnd('\n').Split('\n').Select(line =>
            {
                string shown = line.Replace(store.Path, "/mnt/images", StringComparison.Ordinal);
                return shown.Length < line.Length && shown.EndsWith('│') ? shown[..^1].PadRight(line.Length - 1) + "│" : shown;
            }));
        }

        TuiServices Services(ScriptedJobs jobs) => new()
        {
            Disks = ListedDisks.Typical(),
            Images = new ListedImages(ListedImages.LaptopImage(store.Path)),
            Jobs = jobs,
            Clock = new FixedClock(s_today),
        };

        using (var tui = new TuiHarness(Services(new ScriptedJobs())))
        {
            Save("main-menu", tui);
            tui.Press(Key.F1);
            Save("help", tui);
            tui.Press(Key.Esc);
            tui.Press(Key.Esc);
            Save("quit", tui);
            tui.Press(Key.N);
            tui.Press((Key)'6');
            tui.WaitForText("Crucial MX500");
            Save("disks", tui);
            tui.Press(Key.Esc);
            tui.Press((Key)'5');
            Save("storage", tui);
            tui.Press(Key.CursorDown);
            tui.Press(Key.CursorDown);
            foreach (string field in new[] { "fileserver", "images", "lab", "tech", "Sekr1tPw", "WORKGROUP" })
            {
                tui.Press(Key.Tab);
                tui.Type(field);
            }
            Save("storage-smb", tui);
            tui.Press(Key.Esc);
            tui.Press((Key)'5');
            for (int i = 0; i < 4; i++)
            {
                tui.Press(Key.CursorDown);
            }
            foreach (string field in new[] { "tech@nas.lab", "/srv/images", "", "/root/.ssh/id_ed25519", "SHA256:JIyxqm+OyeFNKqKujxZiclCr/8FRJlYvbTO8MpKhWbo" })
            {
                tui.Press(Key.Tab);
                tui.Press(Key.A.WithCtrl);
                tui.Press(Key.Delete);
                tui.Type(field);
            }
            Save("storage-ssh", tui);
            tui.Press(Key.Esc);
            tui.Press((Key)'9');
            Save("power", tui);
        }

        var capture = new ScriptedJobs();
        using (var tui = new TuiHarness(Services(capture)))
        {
            tui.Press((Key)'1');
            tui.WaitForText("Crucial MX500");
            tui.Press(Key.CursorDown);
            tui.Press(Key.CursorDown);
            tui.Press(Key.Enter);
            tui.Type(store.Path);
            tui.Press(Key.Enter);
            tui.WaitForText("Step 3 of 5");
            Save("capture-name", tui);
            tui.Press(Key.Enter);
            tui.WaitForText("Step 4 of 5");
            Save("capture-options", tui);
            tui.Press(Key.Enter);
            Save("capture-summary", tui);
            tui.Press(Key.Enter);
            tui.WaitFor(() => capture.Request is not null, "the capture to start");
            capture.Progress.Report(new JobProgress(25_600_000_000, 64_000_000_000, 312_000_000, TimeSpan.FromSeconds(123), "sdc1 (ntfs)"));
            tui.WaitForText("(40%)");
            Save("progress", tui);
            capture.End(new JobOutcome(true,
                ["Read 64.0 GB of 256.1 GB (the rest is free space) at 312.0 MB/s.", "Wrote 21.9 GB to /mnt/images/Crucial-MX500_2031E2A1B2C3_2026-11-25.", "Verified: every frame's checksum matches."],
                null, "/var/log/liveimager/session.log"));
            tui.WaitForText("finished");
            Save("capture-result", tui);
        }

        using (var tui = new TuiHarness(Services(new ScriptedJobs())))
        {
            tui.Services.Session.StorePath = store.Path;
            tui.Press((Key)'2');
            tui.Press(Key.Enter);
            tui.WaitForText("Step 2 of 5");
            Save("restore-images", tui);
            tui.Press(Key.Enter);
            tui.WaitForText("Kingston A400");
            tui.Press(Key.End);
            tui.Press(Key.Enter);
            Save("restore-target-too-small", tui);
            tui.Press(Key.CursorUp);
            tui.Press(Key.Enter);
            Save("restore-summary", tui);
            tui.Press(Key.Enter);
            tui.Type("sda");
            tui.Press(Key.Enter);
            Save("restore-confirm", tui);
        }

        var deploy = new ScriptedJobs();
        DiskChoice secondSpare = ListedDisks.SpareDisk with { Name = "sde", Path = "/dev/sde", Serial = "2031E2A1B2D4" };
        using (var tui = new TuiHarness(new TuiServices
        {
            Disks = new ListedDisks(ListedDisks.SystemDisk, ListedDisks.BootStick, ListedDisks.SpareDisk, secondSpare, ListedDisks.SmallDisk),
            Images = new ListedImages(ListedImages.LaptopImage(store.Path)),
            Jobs = deploy,
            Clock = new FixedClock(s_today),
        }))
        {
            tui.Services.Session.StorePath = store.Path;
            tui.Press((Key)'4');
            tui.Press(Key.Enter);
            tui.WaitForText("Step 2 of 5");
            tui.Press(Key.Enter);
            tui.WaitForText("Kingston A400");
            tui.Press(Key.CursorDown);
            tui.Press(Key.CursorDown);
            tui.Press(Key.Space);
            tui.Press(Key.CursorDown);
            tui.Press(Key.Space);
            tui.Press(Key.CursorDown);
            tui.Press(Key.Space);
            Save("deploy-targets", tui);
            tui.Press(Key.Enter);
            tui.Press(Key.Enter);
            tui.Type("sdc sde");
            tui.Press(Key.Enter);
            tui.WaitFor(() => deploy.Request is not null, "the deployment to start");
            const long total = 120_570_000_000;
            const string error = "pwrite at 48318382080 /dev/sde: Input/output error (errno 5)";
            deploy.Progress.Report(new JobProgress(84_399_000_000, total, 308_400_000, TimeSpan.FromSeconds(117), "2 (ext4)",
                [new DiskProgress("sdc", RestoreTargetState.Writing, 84_399_000_000, total, 308_400_000, TimeSpan.FromSeconds(117), null),
                 new DiskProgress("sde", RestoreTargetState.Failed, 48_318_382_080, total, 0, null, error)]));
            tui.WaitForText("(70%)");
            Save("deploy-progress", tui);
            // The Engine's own words for each target, as the TUI's runner turns them into the result screen's lines.
            deploy.End(EngineJobRunner.RestoreOutcome(new RestoreResult(
                [new RestoreTargetResult("/dev/sdc", true, total, "restored", ""),
                 new RestoreTargetResult("/dev/sde", false, 48_318_382_080, "failed after",
                    $"{error}; /dev/sde is partly written and does not hold a usable disk")],
                total, TimeSpan.FromSeconds(391), false), "/var/log/liveimager/session.log"));
            tui.WaitForText("not on every disk");
            Save("deploy-result", tui);
        }

        using (var tui = new TuiHarness(Services(new ScriptedJobs())))
        {
            tui.Services.Session.StorePath = store.Path;
            tui.Press((Key)'3');
            Save("verify", tui);
        }

        // Browse: the "mounted" partition is a tree of the scratch store with fixed times, as the TUI tests make it.
        string root = Directory.CreateDirectory(Path.Combine(store.Path, "p2")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "home/anna/Documents"));
        Directory.CreateDirectory(Path.Combine(root, "home/anna/Pictures"));
        File.WriteAllBytes(Path.Combine(root, "home/anna/taxes-2025.ods"), new byte[48_213]);
        File.WriteAllBytes(Path.Combine(root, "home/anna/thesis.pdf"), new byte[3_481_920]);
        File.CreateSymbolicLink(Path.Combine(root, "home/anna/latest"), "Documents");
        foreach (string entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            // -h: a link's own time, not its target's.
            ExternalTool.Run("touch", "-h", "-d", "2026-11-19 18:42", entry);
        }
        var browse = new ScriptedJobs
        {
            Image = new OpenedImage(store.Path,
            [
                new LiveImager.Engine.Opening.BrowsedPartition(1, "fat32", "EFI", 536_870_912, null,
                    "mount -t vfat -o ro: unknown filesystem type 'vfat'"),
                new LiveImager.Engine.Opening.BrowsedPartition(2, "ext4", "linux", 499_570_991_104, root, null),
            ]),
        };
        using (var tui = new TuiHarness(Services(browse)))
        {
            tui.Services.Session.StorePath = store.Path;
            tui.Press((Key)'0');
            tui.Press(Key.Enter);
            tui.WaitForText("Step 2 of 5");
            tui.Press(Key.Enter);
            tui.WaitForText("can be opened");
            Save("browse-partitions", tui);
            tui.Press(Key.CursorDown);
            tui.Press(Key.Enter);
            tui.WaitForText("home/");
            tui.Press(Key.Enter);
            tui.WaitForText("anna/");
            tui.Press(Key.Enter);
            tui.WaitForText("thesis.pdf");
            tui.Press(Key.Space);
            tui.Press(Key.CursorDown);
            tui.Press(Key.CursorDown);
            tui.Press(Key.Space);
            Save("browse-files", tui);
        }
    }
}
