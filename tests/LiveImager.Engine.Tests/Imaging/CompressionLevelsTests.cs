using LiveImager.Engine.Imaging;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>The adaptive zstd level: harder while fewer workers compress than there are cores (they wait on the disk
/// or the store), back down while every core is taken; a forced level never moves.</summary>
public sealed class CompressionLevelsTests
{
    [Fact]
    public void AForcedLevelNeverMoves()
    {
        var levels = new CompressionLevels(5, cores: 4);

        for (int i = 0; i < 40; i++)
        {
            int level = levels.Begin();
            Assert.Equal(5, level);
            levels.End(level, stored: i % 4 == 0);
        }

        Assert.False(levels.IsAdaptive);
        Assert.Equal("zstd level 5: 40 chunks; 10 stored uncompressed", levels.Describe());
    }

    [Fact]
    public void ALevelRisesWhileOneWorkerCompressesAtATimeOnFourCores()
    {
        var levels = new CompressionLevels(CompressionLevels.Adaptive, cores: 4);
        var used = new List<int>();

        for (int i = 0; i < 100; i++)
        {
            int level = levels.Begin();
            used.Add(level);
            levels.End(level, stored: false);
        }

        Assert.Equal(CompressionLevels.AdaptiveLowest, used[0]);
        Assert.Equal(CompressionLevels.AdaptiveHighest, used[^1]);
        Assert.Equal(used.Order(), used);
        Assert.StartsWith($"zstd levels {CompressionLevels.AdaptiveLowest}..{CompressionLevels.AdaptiveHighest} (adaptive): level 3 ", levels.Describe());
    }

    [Fact]
    public void ALevelFallsBackWhileMoreWorkersCompressThanThereAreCores()
    {
        var levels = new CompressionLevels(CompressionLevels.Adaptive, cores: 2);
        for (int i = 0; i < 100; i++)
        {
            levels.End(levels.Begin(), stored: false);
        }
        Assert.Equal(CompressionLevels.AdaptiveHighest, Peek(levels));

        // Six chunks in flight at once on two cores, again and again: every core is busy.
        int last = 0;
        for (int round = 0; round < 40; round++)
        {
            int[] started = [.. Enumerable.Range(0, 6).Select(_ => levels.Begin())];
            foreach (int level in started)
            {
                levels.End(level, stored: false);
            }
            last = started[^1];
        }

        Assert.Equal(CompressionLevels.AdaptiveLowest, last);
    }

    private static int Peek(CompressionLevels levels)
    {
        int level = levels.Begin();
        levels.End(level, stored: false);
        return level;
    }
}
