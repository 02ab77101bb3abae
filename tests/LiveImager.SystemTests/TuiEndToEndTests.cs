using System.Diagnostics;
using System.Security.Cryptography;
using LiveImager.Engine.Opening;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.SystemTests;

/// <summary>The published binary's TUI in tmux at 80x25, driven by keys as a technician would: capture one loop disk
/// to a directory, restore the image onto a second loop disk, deploy it onto two more; then fsck and per-file hashes on
/// every restored partition.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class TuiEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private const long DiskBytes = 64L << 20;
    private const long PartitionStart = 1L << 20;
    private const long PartitionBytes = 48L << 20;
    private const int MaxRowsToSearch = 64;
    private static readonly TimeSpan s_screenTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_jobTimeout = TimeSpan.FromSeconds(30);

    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>Root and loop devices, the published binary, tmux, and the tools that make and check the disks.</summary>
    private static string RequireBinaryAndTools()
    {
        LoopDevice.RequireRoot();
        string binary = PublishedBinary.Require();
        TmuxSession.Require();
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("partx", "util-linux");
        ExternalTool.Require("mke2fs", "e2fsprogs");
        ExternalTool.Require("e2fsck", "e2fsprogs");
        ExternalTool.Require("debugfs", "e2fsprogs");
        return binary;
    }

    /// <summary>From a result screen back to the main menu, then out of the TUI with its confirmation.</summary>
    private static void QuitFromResult(TmuxSession tui)
    {
        tui.Keys("Escape");
        tui.WaitForText("Capture a disk", s_screenTimeout);
        tui.Keys("Escape");
        tui.WaitForText("Leave LiveImager", s_screenTimeout);
        tui.Keys("y");
        tui.WaitFor(s => !s.Contains("Capture a disk", StringComparison.Ordinal), "the TUI to quit", s_screenTimeout);
    }

    [SkippableFact]
    public void CaptureALoopDiskAndRestoreItOntoAnotherWithTheKeys()
    {
        string binary = RequireBinaryAndTools();
        var clock = Stopwatch.StartNew();

        Dictionary<string, string> hashes = MakeFiles(Directory.CreateDirectory(_scratch.File("files")).FullName);
        string sourceFile = MakeSourceDisk();
        string targetFile = _scratch.SparseFile("target.img", DiskBytes);
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string logs = Directory.CreateDirectory(_scratch.File("log")).FullName;

        using var source = LoopDevice.Attach(sourceFile);
        source.ScanPartitions();
        using var target = LoopDevice.Attach(targetFile, partitionScan: true);
        using (var tui = TmuxSession.Start($"env LIVEIMAGER_LOG_DIR={logs} {binary}", 80, 25))
        {
            tui.WaitForText("Capture a disk", s_screenTimeout);
            tui.Keys("1");
            tui.WaitForText("Step 1 of 5", s_screenTimeout);
            ChooseDisk(tui, source.Path);
            tui.WaitForText("Step 2 of 5", s_screenTimeout);
            tui.Type(store);
            tui.Keys("Enter");
            tui.WaitForText("Step 3 of 5", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 4 of 5", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 5 of 5", s_screenTimeout);
            tui.Keys("Enter");
            string captured = tui.WaitFor(s => s.Contains("The capture finished", StringComparison.Ordinal) || s.Contains("did not finish", StringComparison.Ordinal),
                "the capture's result", s_jobTimeout);
            output.WriteLine(captured);
            Assert.Contains("Verified: all", captured);
            Assert.Single(Directory.GetFiles(store));

            tui.Keys("Escape");
            tui.WaitForText("Capture a disk", s_screenTimeout);
            tui.Keys("2");
            tui.WaitForText("Step 1 of 5", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 2 of 5", s_screenTimeout);
            tui.WaitForText("Partitions: 1 ext4", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 3 of 5", s_screenTimeout);
            ChooseDisk(tui, target.Path);
            tui.WaitForText($"EVERYTHING ON {target.Name} WILL BE ERASED", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText($"Type the target's name, {target.Name}", s_screenTimeout);
            tui.Type(target.Name);
            tui.Keys("Enter");
            string restored = tui.WaitFor(s => s.Contains("The restore finished", StringComparison.Ordinal) || s.Contains("did not finish", StringComparison.Ordinal),
                "the restore's result", s_jobTimeout);
            output.WriteLine(restored);
            Assert.Contains($"{target.Path}: restored", restored);
            Assert.Contains($"The log is in {logs}", restored);

            QuitFromResult(tui);
        }

        AssertFilesRestored(Assert.Single(target.ScanPartitions()), hashes);
        output.WriteLine($"Capture, restore and checks took {clock.Elapsed.TotalSeconds:F1} s");
    }

    [SkippableFact]
    public void DeployAnImageOntoTwoLoopDisksWithTheKeys()
    {
        string binary = RequireBinaryAndTools();
        var clock = Stopwatch.StartNew();

        Dictionary<string, string> hashes = MakeFiles(Directory.CreateDirectory(_scratch.File("files")).FullName);
        string sourceFile = MakeSourceDisk();
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string logs = Directory.CreateDirectory(_scratch.File("log")).FullName;
        string image = Path.Combine(store, "source.lim");
        ExternalTool.Run(binary, "capture", sourceFile, image);

        using var first = LoopDevice.Attach(_scratch.SparseFile("first.img", DiskBytes), partitionScan: true);
        using var second = LoopDevice.Attach(_scratch.SparseFile("second.img", DiskBytes), partitionScan: true);
        using (var tui = TmuxSession.Start($"env LIVEIMAGER_LOG_DIR={logs} {binary}", 80, 25))
        {
            tui.WaitForText("Capture a disk", s_screenTimeout);
            tui.Keys("4");
            tui.WaitForText("Step 1 of 5", s_screenTimeout);
            tui.Type(store);
            tui.Keys("Enter");
            tui.WaitForText("Step 2 of 5", s_screenTimeout);
            tui.WaitForText("Partitions: 1 ext4", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 3 of 5", s_screenTimeout);
            MarkDisks(tui, first.Path, second.Path);
            tui.Keys("Enter");
            tui.WaitForText("Write 2 disks, each from the same read:", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Type the names of all 2 disks", s_screenTimeout);
            tui.Type($"{second.Name} {first.Name}");
            tui.Keys("Enter");
            string deployed = tui.WaitFor(s => s.Contains("The deployment finished", StringComparison.Ordinal) || s.Contains("The deployment ended", StringComparison.Ordinal) ||
                s.Contains("did not finish", StringComparison.Ordinal), "the deployment's result", s_jobTimeout);
            output.WriteLine(deployed);
            Assert.Contains("The deployment finished", deployed);
            Assert.Contains($"{first.Path}: restored", deployed);
            Assert.Contains($"{second.Path}: restored", deployed);
            Assert.Contains($"The log is in {logs}", deployed);

            QuitFromResult(tui);
        }

        foreach (LoopDevice target in new[] { first, second })
        {
            AssertFilesRestored(Assert.Single(target.ScanPartitions()), hashes);
        }
        output.WriteLine($"Capture, deployment onto two disks and checks took {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Moves down the deploy wizard's disk table from the top and marks each of <paramref name="devicePaths"/> with Space.</summary>
    private static void MarkDisks(TmuxSession tui, params string[] devicePaths)
    {
        tui.WaitFor(s => s.Contains("Space marks or unmarks it", StringComparison.Ordinal) || s.Contains("Cannot be chosen", StringComparison.Ordinal),
            "the disk table", s_screenTimeout);
        var left = new HashSet<string>(devicePaths);
        for (int row = 0; row < MaxRowsToSearch && left.Count > 0; row++)
        {
            string screen = tui.Screen;
            if (left.FirstOrDefault(path => screen.Contains($" {path}  ", StringComparison.Ordinal)) is string found)
            {
                left.Remove(found);
                tui.Keys("Space");
                tui.WaitForText($"Enter goes on with the {devicePaths.Length - left.Count} marked.", s_screenTimeout);
                screen = tui.Screen;
            }
            if (left.Count > 0)
            {
                tui.Keys("Down");
                tui.WaitFor(s => s != screen, "the next disk's details", s_screenTimeout);
            }
        }
        Assert.True(left.Count == 0, $"{string.Join(", ", left)} not in the disk table:\n{tui.Screen}");
    }

    /// <summary>A GPT disk file with one ext4 partition holding the files of the scratch directory's "files".</summary>
    /// <summary>Browse with the keys on the real binary: an image captured from an ext4 disk file, opened (its
    /// `serve` process, nbdfuse, a loop device, the kernel's ext4), four files marked and copied into the store with
    /// their hashes checked; then nothing is left mounted, after the result and after Esc from the partition list.</summary>
    [SkippableFact]
    public void BrowseAnImageAndCopyFilesOutWithTheKeys()
    {
        string binary = RequireBinaryAndTools();
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) for nbdfuse");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        Dictionary<string, string> hashes = MakeFiles(Directory.CreateDirectory(_scratch.File("files")).FullName);
        string sourceFile = MakeSourceDisk();
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string logs = Directory.CreateDirectory(_scratch.File("log")).FullName;
        string image = Path.Combine(store, "source.lim");
        ExternalTool.Run(binary, "capture", sourceFile, image);
        string[] before = BrowseDirectories();

        using (var tui = TmuxSession.Start($"env LIVEIMAGER_LOG_DIR={logs} {binary}", 80, 25))
        {
            tui.WaitForText("Capture a disk", s_screenTimeout);
            tui.Keys("0");
            tui.WaitForText("Step 1 of 5", s_screenTimeout);
            tui.Type(store);
            tui.Keys("Enter");
            tui.WaitForText("Step 2 of 5", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("can be opened", s_jobTimeout);
            string[] first = OpenedNow(before, image);
            tui.Keys("Enter");
            tui.WaitForText("lost+found/", s_screenTimeout);
            tui.WaitForText("file3.bin", s_screenTimeout);
            tui.Keys("Down");
            tui.Keys("Space", "Space", "Space", "Space");
            tui.WaitForText("4 marked items", s_screenTimeout);
            tui.Keys("c");
            tui.WaitForText("Step 5 of 5", s_screenTimeout);
            tui.Keys("Enter");
            string copied = tui.WaitFor(s => s.Contains("The copy finished", StringComparison.Ordinal) || s.Contains("The copy ended", StringComparison.Ordinal)
                || s.Contains("did not finish", StringComparison.Ordinal), "the copy's result", s_jobTimeout);
            output.WriteLine(copied);
            Assert.Contains("Copied 4 files and 0 folders", copied);
            foreach ((string name, string hash) in hashes)
            {
                Assert.Equal(hash, Sha256(Path.Combine(store, name)));
            }
            tui.Keys("Escape");
            tui.WaitForText("Capture a disk", s_screenTimeout);
            Assert.Empty(Leftovers(first));

            // Opened again and left with Esc from the partition list: unmounted too.
            tui.Keys("0");
            tui.WaitForText("Step 1 of 5", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 2 of 5", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("can be opened", s_jobTimeout);
            string[] second = OpenedNow(before, image);
            Assert.NotEmpty(Leftovers(second));
            tui.Keys("Escape");
            tui.WaitForText("Step 2 of 5", s_jobTimeout);
            Assert.Empty(Leftovers(second));
            tui.Keys("Escape");
            tui.Keys("Escape");
            tui.WaitForText("Capture a disk", s_screenTimeout);
            tui.Keys("Escape");
            tui.WaitForText("Leave LiveImager", s_screenTimeout);
            tui.Keys("y");
            tui.WaitFor(s => !s.Contains("Capture a disk", StringComparison.Ordinal), "the TUI to quit", s_screenTimeout);
        }
    }

    /// <summary>The browse directories under the state root now.</summary>
    private static string[] BrowseDirectories() => Directory.Exists("/run/liveimager/mounts")
        ? [.. Directory.EnumerateDirectories("/run/liveimager/mounts", "browse-*").Order(StringComparer.Ordinal)]
        : [];

    /// <summary>The one browse directory this test's TUI made for <paramref name="image"/> (other tests may browse at
    /// the same time: the one whose server serves this image), and the work directory ImageMount keeps its state, socket
    /// and nbdfuse mount in.</summary>
    private static string[] OpenedNow(string[] before, string image)
    {
        bool Serves(string directory)
        {
            string state = Path.Combine(ImageMount.WorkDirectory(directory), "state");
            string? server = File.Exists(state) ? File.ReadLines(state).FirstOrDefault(l => l.StartsWith("server ", StringComparison.Ordinal)) : null;
            try
            {
                return server is not null && File.ReadAllText($"/proc/{server["server ".Length..]}/cmdline").Contains(image, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        }
        string directory = Assert.Single(BrowseDirectories().Except(before), Serves);
        string work = ImageMount.WorkDirectory(directory);
        Assert.True(Directory.Exists(work), $"no work directory {work} for {directory}");
        return [directory, work];
    }

    /// <summary>What is left of a browse: mounts, loop devices, processes and directories naming its paths.</summary>
    private static string[] Leftovers(string[] paths)
    {
        bool Names(string text) => paths.Any(p => text.Contains(p, StringComparison.Ordinal));
        var left = new List<string>();
        left.AddRange(File.ReadLines("/proc/self/mountinfo").Where(Names).Select(l => $"mount {l}"));
        left.AddRange(ExternalTool.Run("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE").Split('\n').Where(Names).Select(l => $"loop {l}"));
        foreach (string process in Directory.EnumerateDirectories("/proc").Where(p => int.TryParse(Path.GetFileName(p), out _)))
        {
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(process, "cmdline")).Replace('\0', ' ');
                if (Names(commandLine))
                {
                    left.Add($"process {commandLine}");
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }
        left.AddRange(paths.Where(Directory.Exists).Select(d => $"directory {d}"));
        return [.. left];
    }

    /// <summary>The restore wizard onto loop disks smaller than the image needs (#20): one too small even for the data is
    /// refused with the partition's numbers; one that takes the data shows the plan, is confirmed by its typed name, and
    /// gets the ext4 partition shrunk by resize2fs on the image's overlay (the step shown while it runs); e2fsck -fn and
    /// every file's hash on the result, the GPT checked by sgdisk, and the image file unchanged.</summary>
    [SkippableFact]
    public void FitAnImageOntoASmallerLoopDiskWithTheKeys()
    {
        string binary = RequireBinaryAndTools();
        ExternalTool.Require("nbdkit", "nbdkit");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        ExternalTool.Require("resize2fs", "e2fsprogs");
        ExternalTool.Require("sgdisk", "gdisk");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) for nbdfuse");

        Dictionary<string, string> hashes = MakeFiles(Directory.CreateDirectory(_scratch.File("files")).FullName);
        string sourceFile = MakeSourceDisk();
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        string logs = Directory.CreateDirectory(_scratch.File("log")).FullName;
        string image = Path.Combine(store, "source.lim");
        ExternalTool.Run(binary, "capture", sourceFile, image);
        string imageSum = Sha256(image);
        using var tiny = LoopDevice.Attach(_scratch.SparseFile("tiny.img", 8L << 20));
        using var target = LoopDevice.Attach(_scratch.SparseFile("small.img", 32L << 20), partitionScan: true);
        using (var tui = TmuxSession.Start($"env LIVEIMAGER_LOG_DIR={logs} {binary}", 80, 25))
        {
            tui.WaitForText("Capture a disk", s_screenTimeout);
            tui.Keys("2");
            tui.WaitForText("Step 1 of 5", s_screenTimeout);
            tui.Type(store);
            tui.Keys("Enter");
            tui.WaitForText("Partitions: 1 ext4", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 3 of 5", s_screenTimeout);
            string refused = SelectDisk(tui, tiny.Path);
            output.WriteLine(refused);
            Assert.Contains("Cannot be chosen: too small, and its data does not fit it either:", refused);
            Assert.Matches(@"partition 1 \(ext4\) holds [0-9.]+ MB, [0-9.]+ MB with the margin;", refused);
            Assert.Matches(@"the disk leaves room for [0-9.]+ MB", refused);
            tui.Keys("Enter");
            tui.WaitForText($"{tiny.Name} cannot be chosen: too small, and its data does not fit it either:", s_screenTimeout);
            Assert.Contains("Step 3 of 5", tui.Screen);

            // The refusal took the detail lines' place: back to the image and forth again for a fresh table.
            tui.Keys("Escape");
            tui.WaitForText("Step 2 of 5", s_screenTimeout);
            tui.Keys("Enter");
            tui.WaitForText("Step 3 of 5", s_screenTimeout);
            ChooseDisk(tui, target.Path);
            string summary = tui.WaitForText($"EVERYTHING ON {target.Name} WILL BE ERASED", s_screenTimeout);
            output.WriteLine(summary);
            Assert.Contains($"{target.Name} is smaller than the image needs (51.4 MB) but the data fits:", summary);
            Assert.Matches(@"p1 ext4 +50\.3 MB -> +[0-9.]+ MB at 1 MiB  shrink \([0-9.]+ MB used\)", summary);
            tui.Keys("Enter");
            tui.WaitForText($"Type the target's name, {target.Name}, and press Enter to fit the image onto it:", s_screenTimeout);
            tui.Type(target.Name);
            tui.Keys("Enter");
            string restored = tui.WaitFor(s => s.Contains("The restore finished", StringComparison.Ordinal) || s.Contains("did not finish", StringComparison.Ordinal),
                "the restore's result", s_jobTimeout);
            output.WriteLine(restored);
            Assert.Contains($"{target.Path}: restored with its partitions shrunk to fit", restored);
            Assert.Matches(@"The resize tools' overlay held [0-9.]+ [kM]?B in /var/tmp, now removed\.", restored);
            QuitFromResult(tui);
        }

        ToolResult gpt = ExternalTool.RunUnchecked("sgdisk", null, "-v", target.Path);
        Assert.True(gpt.ExitCode == 0 && gpt.StandardOutput.Contains("No problems found", StringComparison.Ordinal), $"sgdisk -v:\n{gpt.StandardOutput}");
        AssertFilesRestored(Assert.Single(target.ScanPartitions()), hashes);
        Assert.Equal(imageSum, Sha256(image));
        Assert.Contains("Fit restore: shrinking partition 1 (ext4) with resize2fs",
            string.Concat(Directory.GetFiles(logs, "*", SearchOption.AllDirectories).Select(File.ReadAllText)));
    }

    private string MakeSourceDisk()
    {
        string sourceFile = _scratch.SparseFile("source.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", $"label: gpt\nstart={PartitionStart / 512}, size={PartitionBytes / 512}, type=linux\n", "-q", sourceFile);
        ExternalTool.Run("mke2fs", "-q", "-F", "-t", "ext4", "-E", $"offset={PartitionStart}", "-d", _scratch.File("files"), sourceFile,
            $"{PartitionBytes >> 10}k");
        return sourceFile;
    }

    /// <summary>e2fsck -fn finds the partition clean, and every file dumped from it has its hash.</summary>
    private void AssertFilesRestored(string partition, Dictionary<string, string> hashes)
    {
        var fsck = ExternalTool.RunUnchecked("e2fsck", null, "-fn", partition);
        Assert.True(fsck.ExitCode == 0, $"e2fsck -fn {partition} exited {fsck.ExitCode}:\n{fsck.StandardOutput}{fsck.StandardError}");
        foreach ((string name, string hash) in hashes)
        {
            string dumped = _scratch.File($"dumped-{Path.GetFileName(partition)}-{name}");
            ExternalTool.Run("debugfs", "-R", $"dump /{name} {dumped}", partition);
            Assert.Equal(hash, Sha256(dumped));
        }
    }

    /// <summary>Moves down the disk table until the detail lines describe <paramref name="devicePath"/>, then chooses it.</summary>
    private static void ChooseDisk(TmuxSession tui, string devicePath)
    {
        Assert.Contains("Press Enter to choose this disk.", SelectDisk(tui, devicePath));
        tui.Keys("Enter");
    }

    /// <summary>Moves down the disk table until the detail lines describe <paramref name="devicePath"/>; returns the screen.</summary>
    private static string SelectDisk(TmuxSession tui, string devicePath)
    {
        tui.WaitFor(s => s.Contains("Press Enter to choose", StringComparison.Ordinal) || s.Contains("Cannot be chosen", StringComparison.Ordinal),
            "the disk table", s_screenTimeout);
        for (int row = 0; row < MaxRowsToSearch; row++)
        {
            string screen = tui.Screen;
            if (screen.Contains($" {devicePath}  ", StringComparison.Ordinal))
            {
                return screen;
            }
            tui.Keys("Down");
            tui.WaitFor(s => s != screen, "the next disk's details", s_screenTimeout);
        }
        Assert.Fail($"{devicePath} is not in the disk table:\n{tui.Screen}");
        return "";
    }

    private static Dictionary<string, string> MakeFiles(string directory)
    {
        var hashes = new Dictionary<string, string>();
        for (int i = 0; i < 4; i++)
        {
            string name = $"file{i}.bin";
            byte[] bytes = RandomNumberGenerator.GetBytes(500_000 * (i + 1) + i);
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
            hashes[name] = Convert.ToHexString(SHA256.HashData(bytes));
        }
        return hashes;
    }

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
