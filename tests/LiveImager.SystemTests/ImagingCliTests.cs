using System.Diagnostics;
using System.Text.Json;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>The imaging verbs of the published binary, on disk image files a test makes with sfdisk and mkfs.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class ImagingCliTests : IDisposable
{
    private const long DiskBytes = 96L << 20;
    private const long Ext4Start = 1L << 20;

    private readonly ScratchDirectory _scratch = new();

    public ImagingCliTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void InspectJsonNamesTheTableAndEachPartitionsFileSystemAndUsage()
    {
        string binary = PublishedBinary.Require();
        string disk = MakeDisk(randomMiB: 4);

        using var report = JsonDocument.Parse(ExternalTool.Run(binary, "inspect", disk, "--json"));

        JsonElement root = report.RootElement;
        Assert.Equal("gpt", root.GetProperty("table").GetString());
        Assert.Equal(512, root.GetProperty("sectorSize").GetInt32());
        JsonElement[] partitions = [.. root.GetProperty("partitions").EnumerateArray()];
        Assert.Equal(2, partitions.Length);
        JsonElement ext4 = partitions[0];
        Assert.Equal(1, ext4.GetProperty("number").GetInt32());
        Assert.Equal(Ext4Start, ext4.GetProperty("startBytes").GetInt64());
        Assert.Equal("ext4", ext4.GetProperty("fileSystem").GetString());
        Assert.Equal("cli", ext4.GetProperty("label").GetString());
        Assert.Equal("ext4 block bitmaps", ext4.GetProperty("method").GetString());
        long used = ext4.GetProperty("usedBlocks").GetInt64();
        Assert.InRange(used * ext4.GetProperty("blockSize").GetInt32(), 4L << 20, (16L << 20) - 1);
        Assert.True(used < ext4.GetProperty("totalBlocks").GetInt64());
        Assert.Equal(used * ext4.GetProperty("blockSize").GetInt32(), ext4.GetProperty("usedBytes").GetInt64());
        JsonElement blank = partitions[1];
        Assert.Equal("unknown", blank.GetProperty("fileSystem").GetString());
        Assert.Equal("whole copy: unknown filesystem", blank.GetProperty("method").GetString());
    }

    [SkippableFact]
    public void ImagesListsCompleteImagesWithTheirMetadataAndLeavesUnfinishedOnesOut()
    {
        string binary = PublishedBinary.Require();
        string disk = MakeDisk(randomMiB: 4);
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        ExternalTool.Run(binary, "capture", disk, Path.Combine(store, "laptop.lim"));
        File.WriteAllText(Path.Combine(store, "other.lim.partial"), "an unfinished capture");

        using var listing = JsonDocument.Parse(ExternalTool.Run(binary, "images", store, "--json"));

        JsonElement root = listing.RootElement;
        Assert.True(root.GetProperty("freeBytes").GetInt64() > 0);
        JsonElement image = Assert.Single(root.GetProperty("images").EnumerateArray());
        Assert.Equal("laptop.lim", image.GetProperty("name").GetString());
        Assert.True(image.GetProperty("complete").GetBoolean());
        Assert.Equal(new FileInfo(Path.Combine(store, "laptop.lim")).Length, image.GetProperty("sizeBytes").GetInt64());
        JsonElement metadata = image.GetProperty("metadata");
        Assert.Equal(DiskBytes, metadata.GetProperty("source").GetProperty("sizeBytes").GetInt64());
        Assert.Equal("gpt", metadata.GetProperty("table").GetProperty("kind").GetString());
        Assert.Equal("ext4", metadata.GetProperty("partitions")[0].GetProperty("filesystem").GetString());
    }

    /// <summary>restore IMAGE T1 T2 where T2 is a disk too small for the image: T1 is restored, each --json-progress line
    /// carries the job's figures and each target's, and the summary names each target's result.</summary>
    [SkippableFact]
    public void RestoreOntoTwoTargetsReportsEachTargetInTheJsonProgressAndTheSummary()
    {
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        string disk = MakeDisk(randomMiB: 4);
        string image = _scratch.File("disk.lim");
        ExternalTool.Run(binary, "capture", disk, image);
        string good = _scratch.SparseFile("good.img", 0);
        using LoopDevice small = LoopDevice.Attach(_scratch.SparseFile("small.img", 16L << 20));
        string refused = small.Path;

        ToolResult restore = ExternalTool.RunUnchecked(binary, null, "restore", image, good, refused, "--yes", "--json-progress");

        Assert.True(restore.ExitCode == 1, $"restore exited {restore.ExitCode}:\n{restore.StandardError}");
        string[] lines = restore.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        JsonDocument[] reports = [.. lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l))];
        Assert.NotEmpty(reports);
        foreach (JsonDocument report in reports)
        {
            JsonElement root = report.RootElement;
            Assert.Equal("restore", root.GetProperty("phase").GetString());
            foreach (string field in (string[])["bytesDone", "bytesTotal", "bytesPerSecond", "etaSeconds", "partition", "elapsedSeconds"])
            {
                Assert.True(root.TryGetProperty(field, out _), $"no {field} in {root}");
            }
            JsonElement[] targets = [.. root.GetProperty("targets").EnumerateArray()];
            Assert.Equal([good, refused], targets.Select(t => t.GetProperty("target").GetString()));
            Assert.Equal("failed", targets[1].GetProperty("state").GetString());
            Assert.StartsWith("refused: ", targets[1].GetProperty("error").GetString());
            Assert.Equal(0, targets[1].GetProperty("bytesDone").GetInt64());
        }
        JsonElement last = reports[^1].RootElement;
        JsonElement done = last.GetProperty("targets")[0];
        Assert.Equal("done", done.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error").ValueKind);
        Assert.Equal(last.GetProperty("bytesTotal").GetInt64(), done.GetProperty("bytesDone").GetInt64());
        Assert.Equal(last.GetProperty("bytesTotal").GetInt64(), done.GetProperty("bytesTotal").GetInt64());
        Assert.True(done.GetProperty("bytesPerSecond").GetDouble() > 0);
        Assert.Contains(lines, l => l.StartsWith($"restore: {good}: ok: restored ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"restore: {refused}: FAILED: refused: ", StringComparison.Ordinal));
        Assert.Contains("restore: 1 of 2 targets restored, 1 FAILED", lines);
        // The restored ext4 checks clean and holds the same file (its descriptors differ from the source's where the
        // restore cleared INODE_ZEROED for inode-table ends the capture left out: docs/used-blocks.md).
        AssertSameExt4File(disk, good);
    }

    /// <summary>On a terminal, restore IMAGE T1 T2 T3 draws the job's bar with a line per target under it, redrawn in
    /// place report after report: one bar, one line per target, then each target's result (T3 too small a disk).</summary>
    [SkippableFact]
    public void RestoreOnATerminalDrawsALinePerTargetUnderTheBar()
    {
        string binary = PublishedBinary.Require();
        TmuxSession.Require();
        LoopDevice.RequireRoot();
        string disk = MakeDisk(randomMiB: 4);
        string image = _scratch.File("disk.lim");
        ExternalTool.Run(binary, "capture", disk, image);
        using LoopDevice small = LoopDevice.Attach(_scratch.SparseFile("small.img", 16L << 20));
        string[] targets = [_scratch.SparseFile("t1.img", 0), _scratch.SparseFile("t2.img", 0), small.Path];

        // The shell outlives the restore, so tmux leaves the screen as the restore drew it: the notice of a dead pane
        // can scroll it by a line.
        using var terminal = TmuxSession.Start($"{binary} restore {image} {string.Join(' ', targets)} --yes; sleep 60", 200, 30);
        string screen = terminal.WaitForText("targets restored", TimeSpan.FromSeconds(30));

        string[] lines = screen.Split('\n');
        void AssertOneLine(Func<string, bool> matches, string what) =>
            Assert.True(lines.Count(matches) == 1, $"not one line {what}:\n{screen}");
        AssertOneLine(l => l.StartsWith("restore [", StringComparison.Ordinal), "with the job's bar");
        foreach (string target in targets[..2])
        {
            AssertOneLine(l => l.StartsWith($"  {target} [####################] 100% ", StringComparison.Ordinal) && l.EndsWith(" done", StringComparison.Ordinal),
                $"with {target} done");
        }
        AssertOneLine(l => l.StartsWith($"  {targets[2]} FAILED: refused: ", StringComparison.Ordinal), $"with {targets[2]} refused");
        Assert.Contains("restore: 2 of 3 targets restored, 1 FAILED", lines);
    }

    /// <summary>Ctrl-C in the middle of a capture: the job stops, says so, and leaves no image under either name.</summary>
    [SkippableFact]
    public void InterruptedCaptureKeepsNoImage()
    {
        string binary = PublishedBinary.Require();
        ExternalTool.Require("kill", "procps");
        // Text at zstd's slowest level keeps the capture busy for seconds on any machine. (Random bytes would not: the
        // encoder samples them as incompressible and stores them without running zstd, which a fast machine finishes
        // before the signal arrives.)
        string disk = MakeDisk(randomMiB: 48, asText: true);
        string image = _scratch.File("interrupted.lim");
        var info = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in (string[])["capture", disk, image, "--level", "19", "--json-progress"])
        {
            info.ArgumentList.Add(arg);
        }

        using var capture = Process.Start(info)!;
        var stdout = capture.StandardOutput.ReadToEndAsync();
        string? firstProgress = capture.StandardError.ReadLine();
        ExternalTool.Run("kill", "-INT", capture.Id.ToString());
        string rest = capture.StandardError.ReadToEnd();
        Assert.True(capture.WaitForExit(TimeSpan.FromSeconds(60)), "capture did not stop within 60 s of SIGINT");
        _ = stdout.Result;

        Assert.NotNull(firstProgress);
        Assert.Equal(130, capture.ExitCode);
        Assert.Contains("cancelled; no image was kept", rest);
        Assert.Empty(Directory.GetFiles(_scratch.Path, "interrupted.lim*"));
    }

    /// <summary>The ext4 of <paramref name="restored"/> passes e2fsck -fn and holds the random file of <paramref name="source"/>.</summary>
    private static void AssertSameExt4File(string source, string restored)
    {
        ExternalTool.Run("e2fsck", "-fn", $"{restored}?offset={Ext4Start}");
        Assert.Equal(Ext4FileSha256(source), Ext4FileSha256(restored));
    }

    private static string Ext4FileSha256(string disk) =>
        ExternalTool.Run("sh", "-c", $"debugfs -R 'cat /random.bin' '{disk}?offset={Ext4Start}' 2>/dev/null | sha256sum").Split(' ')[0];

    /// <summary>A GPT disk file: partition 1 an ext4 labelled "cli" holding <paramref name="randomMiB"/> MiB of random
    /// data (as base64 text when <paramref name="asText"/>), partition 2 left blank.</summary>
    private string MakeDisk(int randomMiB, bool asText = false)
    {
        ExternalTool.Require("sfdisk", "fdisk");
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        string disk = _scratch.SparseFile("disk.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, size=64M, type=linux\nsize=16M, type=linux\n", "-q", disk);
        string content = Directory.CreateDirectory(_scratch.File("content")).FullName;
        var data = new byte[asText ? (randomMiB << 20) / 4 * 3 : randomMiB << 20];
        Random.Shared.NextBytes(data);
        string file = Path.Combine(content, "random.bin");
        if (asText)
        {
            File.WriteAllText(file, Convert.ToBase64String(data));
        }
        else
        {
            File.WriteAllBytes(file, data);
        }
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-L", "cli", "-d", content, "-E", $"offset={Ext4Start}", disk, "64M");
        return disk;
    }
}
