using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>Incremental images through the published binary (issue 16): <c>capture --base</c>, <c>info</c> and
/// <c>images</c> showing the chain, <c>export</c> reading it in place, <c>capture --force</c> refusing to replace a base, <c>consolidate</c>, and each
/// link restored and checked by e2fsck and its files.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class IncrementalCliTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public IncrementalCliTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void AChainIsCapturedListedConsolidatedAndRestored()
    {
        string binary = PublishedBinary.Require();
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        ExternalTool.Require("debugfs", "e2fsprogs");
        // A whole-disk ext4 (no table) with 8 MiB of random data; then 3 MiB more written into it with debugfs.
        string content = Directory.CreateDirectory(_scratch.File("content")).FullName;
        File.WriteAllBytes(Path.Combine(content, "first.bin"), RandomBytes(8 << 20));
        string disk = _scratch.SparseFile("disk.img", 64L << 20);
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-L", "chain", "-d", content, disk);
        string store = Directory.CreateDirectory(_scratch.File("store")).FullName;
        ExternalTool.Run(binary, "capture", disk, Path.Combine(store, "monday.lim"));
        string second = _scratch.File("second.bin");
        File.WriteAllBytes(second, RandomBytes(3 << 20));
        ExternalTool.Run("debugfs", "-w", "-R", $"write {second} second.bin", disk);

        ToolResult capture = ExternalTool.RunUnchecked(binary, null, "capture", disk, Path.Combine(store, "tuesday.lim"), "--base", "monday.lim");
        Assert.True(capture.ExitCode == 0, capture.StandardError);
        Assert.Contains("incremental on monday.lim:", capture.StandardError);

        string info = ExternalTool.Run(binary, "info", Path.Combine(store, "tuesday.lim"));
        Assert.Contains("Incremental: on monday.lim", info);
        Assert.Contains("chain:    monday.lim (full", info);
        string images = ExternalTool.Run(binary, "images", store);
        Assert.Contains("incremental on monday.lim; this link adds", images);
        Assert.Contains("base of tuesday.lim", images);
        ToolResult replace = ExternalTool.RunUnchecked(binary, null, "capture", disk, Path.Combine(store, "monday.lim"), "--force");
        Assert.NotEqual(0, replace.ExitCode);
        Assert.Contains("is the base of tuesday.lim", replace.StandardError);

        // Opened in place (the export reads through ImageDisk, as serve and mount do): the disk as it was on Tuesday.
        string exported = _scratch.File("exported.img");
        ExternalTool.Run(binary, "export", Path.Combine(store, "tuesday.lim"), exported, "--format", "raw");
        ExternalTool.Run("e2fsck", "-fn", exported);
        string fromExport = _scratch.File("from-export.bin");
        ExternalTool.Run("debugfs", "-R", $"dump second.bin {fromExport}", exported);
        Assert.Equal(File.ReadAllBytes(second), File.ReadAllBytes(fromExport));

        string consolidate = ExternalTool.Run(binary, "consolidate", Path.Combine(store, "tuesday.lim"), "tuesday-full.lim");
        Assert.Contains("verified", consolidate);
        File.Move(Path.Combine(store, "monday.lim"), _scratch.File("monday.away"));
        ToolResult broken = ExternalTool.RunUnchecked(binary, null, "info", Path.Combine(store, "tuesday.lim"));
        Assert.Contains("chain:    BROKEN", broken.StandardOutput);
        Assert.NotEqual(0, broken.ExitCode);

        string target = _scratch.SparseFile("restored.img", 64L << 20);
        ExternalTool.Run(binary, "restore", Path.Combine(store, "tuesday-full.lim"), target, "--yes");
        ExternalTool.Run("e2fsck", "-fn", target);
        string dumped = _scratch.File("dumped.bin");
        ExternalTool.Run("debugfs", "-R", $"dump second.bin {dumped}", target);
        Assert.Equal(File.ReadAllBytes(second), File.ReadAllBytes(dumped));
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
