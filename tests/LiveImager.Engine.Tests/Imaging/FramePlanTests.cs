using LiveImager.Engine.Imaging;
using Xunit;

namespace LiveImager.Engine.Tests.Imaging;

/// <summary>How used byte runs become frames: aligned reads, small gaps joined and zeroed, no frame across a chunk
/// boundary, nothing past the disk's end.</summary>
public sealed class FramePlanTests
{
    private const int Chunk = 64 * 1024;
    private const int Align = 4096;
    private const int MaxGap = 16 * 1024;
    private const long Disk = 1L << 20;

    private static List<FramePlan> Cut(params (long Start, long Length)[] runs) => Cut(Disk, runs);

    private static List<FramePlan> Cut(long diskBytes, params (long Start, long Length)[] runs) =>
        [.. FramePlan.Cut(runs, diskBytes, Chunk, Align, MaxGap)];

    private static string Shape(FramePlan plan) => Frame(plan.Position, plan.Length, [.. plan.Gaps]);

    /// <summary>A frame as text, "position+length gaps offset+length,…", so that expected and actual compare by value.</summary>
    private static string Frame(long position, int length, params (int Offset, int Length)[] gaps) =>
        $"{position}+{length} gaps {string.Join(",", gaps.Select(g => $"{g.Offset}+{g.Length}"))}";

    [Fact]
    public void NoRunsGiveNoFrames()
    {
        Assert.Empty(Cut());
    }

    [Fact]
    public void EmptyRunsAreIgnored()
    {
        Assert.Empty(Cut((8192, 0), (20000, 0)));
        Assert.Equal([Frame(8192L, 4096)], Cut((0, 0), (8192, 4096), (12288, 0)).Select(Shape));
    }

    [Fact]
    public void AnUnalignedRunIsWidenedToTheAlignment()
    {
        FramePlan plan = Assert.Single(Cut((5000, 100)));

        Assert.Equal(Frame(4096L, 4096), Shape(plan));
    }

    [Fact]
    public void RunsSharingAnAlignedBlockBecomeOneFrameWithoutAGap()
    {
        FramePlan plan = Assert.Single(Cut((100, 100), (1000, 100), (3000, 2000)));

        Assert.Equal(Frame(0L, 8192), Shape(plan));
    }

    [Fact]
    public void RunsCloserThanTheGapAreJoinedAndTheGapIsRecorded()
    {
        // 0..8K used, 8K..20K free (12K < 16K), 20K..24K used.
        FramePlan plan = Assert.Single(Cut((0, 8192), (20480, 4096)));

        Assert.Equal(Frame(0L, 24576, (8192, 12288)), Shape(plan));
    }

    [Fact]
    public void AGapOfExactlyTheMaximumIsNotJoined()
    {
        List<FramePlan> plans = Cut((0, 4096), (4096 + MaxGap, 4096));

        Assert.Equal([Frame(0L, 4096), Frame(4096L + MaxGap, 4096)], plans.Select(Shape));
    }

    [Fact]
    public void AGapJustBelowTheMaximumIsJoined()
    {
        FramePlan plan = Assert.Single(Cut((0, 4096), (4096 + MaxGap - Align, 4096)));

        Assert.Equal(Frame(0L, 4096 + MaxGap, (4096, MaxGap - Align)), Shape(plan));
    }

    [Fact]
    public void SeveralGapsInOneFrameAreAllRecorded()
    {
        FramePlan plan = Assert.Single(Cut((0, 4096), (8192, 4096), (20480, 4096)));

        Assert.Equal(Frame(0L, 24576, (4096, 4096), (12288, 8192)), Shape(plan));
    }

    [Fact]
    public void ARunAcrossChunkBoundariesIsCutAtEachBoundary()
    {
        List<FramePlan> plans = Cut((Chunk - 4096, 2 * Chunk + 8192));

        Assert.Equal(
        [
            Frame(Chunk - 4096L, 4096),
            Frame(Chunk, Chunk),
            Frame(2L * Chunk, Chunk),
            Frame(3L * Chunk, 4096),
        ], plans.Select(Shape));
    }

    [Fact]
    public void RunsCloseTogetherAcrossAChunkBoundaryAreNotJoined()
    {
        List<FramePlan> plans = Cut((Chunk - 4096, 4096), (Chunk + 4096, 4096));

        Assert.Equal([Frame(Chunk - 4096L, 4096), Frame(Chunk + 4096L, 4096)], plans.Select(Shape));
    }

    [Fact]
    public void AJoinedFrameStopsAtTheChunkBoundaryAndTheRestStartsTheNextFrame()
    {
        // The second run starts in the first chunk, within the gap, and runs on into the second chunk.
        List<FramePlan> plans = Cut((0, 4096), (12288, Chunk - 12288 + 8192));

        Assert.Equal([Frame(0L, Chunk, (4096, 8192)), Frame((long)Chunk, 8192)], plans.Select(Shape));
    }

    [Fact]
    public void TheLastPartialChunkOfADiskIsAShortFrame()
    {
        long disk = 3L * Chunk + 12288;

        List<FramePlan> plans = Cut(disk, (2L * Chunk, Chunk + 12288));

        Assert.Equal([Frame(2L * Chunk, Chunk), Frame(3L * Chunk, 12288)], plans.Select(Shape));
    }

    [Fact]
    public void NothingIsReadPastTheDiskEndEvenWhenTheAlignmentWouldWidenIt()
    {
        // A disk of 512-byte sectors whose size is not a multiple of the 4 KiB alignment.
        long disk = 8192 + 1536;

        FramePlan plan = Assert.Single(Cut(disk, (8192 + 1024, 512)));

        Assert.Equal(Frame(8192L, 1536), Shape(plan));
    }

    [Fact]
    public void RandomRunsBecomeFramesThatKeepEveryRule()
    {
        var random = new Random(20261207);
        for (int round = 0; round < 200; round++)
        {
            long disk = random.NextInt64(1, 40) * Chunk - random.Next(0, 8) * 512;
            var runs = new List<(long, long)>();
            long at = random.NextInt64(0, 3 * Align);
            while (at < disk)
            {
                long length = Math.Min(disk - at, random.NextInt64(1, random.Next(2) == 0 ? 3 * Align : 3L * Chunk));
                runs.Add((at, length));
                at += length + random.NextInt64(1, random.Next(2) == 0 ? 2 * MaxGap : 4L * Chunk);
            }

            List<FramePlan> plans = Cut(disk, [.. runs]);

            long previousEnd = 0;
            foreach (FramePlan plan in plans)
            {
                long end = plan.Position + plan.Length;
                Assert.True(plan.Position % Align == 0, $"round {round}: frame at {plan.Position} is not aligned");
                Assert.True(plan.Position >= previousEnd, $"round {round}: frame at {plan.Position} overlaps the one ending at {previousEnd}");
                Assert.True(plan.Length > 0 && end <= disk, $"round {round}: frame {plan.Position}+{plan.Length} on a {disk}-byte disk");
                Assert.Equal(plan.Position / Chunk, (end - 1) / Chunk);
                Assert.True(plan.Length % Align == 0 || end == disk, $"round {round}: frame {plan.Position}+{plan.Length} ends unaligned before the disk's end");
                int gapEnd = 0;
                foreach (var (offset, length) in plan.Gaps)
                {
                    Assert.True(offset >= gapEnd && length > 0 && length < MaxGap && offset + length < plan.Length,
                        $"round {round}: gap {offset}+{length} in frame {plan.Position}+{plan.Length}");
                    gapEnd = offset + length;
                }
                previousEnd = end;
            }
            // Every used byte is read, and none of them is zeroed as a gap.
            foreach (var (start, length) in runs)
            {
                for (long b = start; b < start + length; b += Math.Max(1, length / 7))
                {
                    FramePlan? holder = plans.Find(p => b >= p.Position && b < p.Position + p.Length);
                    Assert.True(holder is not null, $"round {round}: used byte {b} is in no frame");
                    long inFrame = b - holder.Position;
                    Assert.DoesNotContain(holder.Gaps, g => inFrame >= g.Offset && inFrame < g.Offset + g.Length);
                }
            }
        }
    }
}
