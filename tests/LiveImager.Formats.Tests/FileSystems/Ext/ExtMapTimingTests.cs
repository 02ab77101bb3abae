using System.Diagnostics;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Ext;
using LiveImager.Formats.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace LiveImager.Formats.Tests.FileSystems.Ext;

/// <summary>How long mapping a 1 GiB ext4 with a few hundred MB of files takes. Opt-in (LIVEIMAGER_BENCH=1): writing
/// the files costs far more than the map, and the suite stays fast without it.</summary>
public sealed class ExtMapTimingTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void MapsOneGibibyteExt4InUnderASecond()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("LIVEIMAGER_BENCH") == "1", "timing run: set LIVEIMAGER_BENCH=1");
        ExtTestImage.RequireTools();
        ExternalTool.Require("partclone.extfs", "partclone");
        using var scratch = new ScratchDirectory();
        var image = ExtTestImage.Create(scratch, "timing", "-t ext4", 1024, dataBytes: 400L << 20);
        using var stream = new FileStream(image.Path, FileMode.Open, FileAccess.Read);
        var source = new StreamBlockSource(stream);
        var module = new ExtModule();
        var cold = Stopwatch.StartNew();
        module.Analyze(source);
        cold.Stop();

        var watch = Stopwatch.StartNew();
        FileSystemAnalysis analysis = module.Analyze(source);
        watch.Stop();

        output.WriteLine($"mapped {analysis.Map.BlockCount} blocks of {analysis.BlockSize} bytes, "
            + $"{analysis.Map.UsedBytes >> 20} MiB used, in {watch.Elapsed.TotalMilliseconds:F1} ms "
            + $"({cold.Elapsed.TotalMilliseconds:F1} ms on the first call, with JIT and a cold cache)");
        Assert.Equal(Partclone.UsedBlocks("extfs", image.Path, scratch).UsedBlocks, analysis.Map.UsedCount);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }
}
