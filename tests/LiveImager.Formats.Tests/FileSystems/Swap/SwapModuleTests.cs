using LiveImager.Formats.FileSystems;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Swap;

/// <summary>Swap areas made by mkswap: only the header page is used, and that page alone restores the UUID and label.</summary>
public sealed class SwapModuleTests
{
    private const long AreaBytes = 16L << 20;
    private const string Label = "lbl";
    private const string Uuid = "0b1f6c5e-2d3a-4c8b-9e7f-a1b2c3d4e5f6";

    /// <summary>The declarative table: page sizes for mkswap -p, from 4 KiB (x86) to 64 KiB (arm64, ppc64).</summary>
    public static TheoryData<int> PageSizes => [4096, 16384, 65536];

    [SkippableTheory]
    [MemberData(nameof(PageSizes))]
    public void OnlyTheHeaderPageIsUsed(int pageSize)
    {
        using var scratch = new ScratchDirectory();
        string image = MakeSwap(scratch, pageSize);

        var analysis = Analyze(image);

        Assert.Equal(FileSystemKind.Swap, analysis.Kind);
        Assert.Equal("swap header only", analysis.Method);
        Assert.Equal(pageSize, analysis.BlockSize);
        Assert.Equal(AreaBytes / pageSize, analysis.Map.BlockCount);
        Assert.Equal(1, analysis.Map.UsedCount);
        Assert.True(analysis.Map.IsUsed(0));
        Assert.Equal(Blkid(image, "UUID"), analysis.Uuid);
        Assert.Equal(Blkid(image, "LABEL"), analysis.Label);
        Assert.Equal(Uuid, analysis.Uuid);
        Assert.Equal(Label, analysis.Label);
    }

    [SkippableTheory]
    [MemberData(nameof(PageSizes))]
    public void RestoredHeaderAloneIsAValidSwapAreaWithTheSameUuidAndLabel(int pageSize)
    {
        ExternalTool.Require("swaplabel", "util-linux");
        using var scratch = new ScratchDirectory();
        string image = MakeSwap(scratch, pageSize);
        string copy = scratch.File("copy.img");

        long copied = UsedBlockCopy.Copy(image, copy, Analyze(image), 0, AreaBytes);

        Assert.Equal(pageSize, copied);
        Assert.Equal(ExternalTool.Run("swaplabel", image), ExternalTool.Run("swaplabel", copy));
        Assert.Equal($"LABEL: {Label}\nUUID:  {Uuid}\n", ExternalTool.Run("swaplabel", copy));
        Assert.Equal("swap", Blkid(copy, "TYPE"));
    }

    [SkippableFact]
    public void SwapAreaLargerThanItsPartitionIsRefused()
    {
        using var scratch = new ScratchDirectory();
        string image = MakeSwap(scratch, 4096);
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        // A partition cut short after mkswap: the header's last_page points past its end.
        stream.SetLength(AreaBytes / 2);

        var analysis = FileSystemDetector.Analyze(new StreamBlockSource(stream));

        Assert.Equal(FileSystemKind.Swap, analysis.Kind);
        Assert.Equal("whole copy: swap metadata could not be trusted", analysis.Method);
        Assert.Equal(
            $"swap header: last_page = {AreaBytes / 4096 - 1} at byte 1028: a swap area of {AreaBytes / 4096} pages " +
            $"of 4096 bytes does not fit in the {AreaBytes / 2}-byte partition",
            Assert.Single(analysis.Warnings));
    }

    /// <summary>Hibernating to swap replaces the magic (here as the kernel's swsusp does, "S1SUSPEND"); the image must
    /// be kept whole to resume, so the area is not mapped as swap. blkid names it swsuspend.</summary>
    [SkippableFact]
    public void HibernationImageInSwapIsNotMappedAsSwap()
    {
        using var scratch = new ScratchDirectory();
        string image = MakeSwap(scratch, 4096);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 4096 - 10;
            stream.Write("S1SUSPEND\0"u8);
        }

        var analysis = Analyze(image);

        Assert.Equal("swsuspend", Blkid(image, "TYPE"));
        Assert.Equal(FileSystemKind.Unknown, analysis.Kind);
        Assert.Equal("whole copy: unknown filesystem", analysis.Method);
    }

    private static string MakeSwap(ScratchDirectory scratch, int pageSize)
    {
        ExternalTool.Require("mkswap", "util-linux");
        string image = scratch.SparseFile("swap.img", AreaBytes);
        ExternalTool.Run("mkswap", "-p", pageSize.ToString(), "-L", Label, "-U", Uuid, image);
        return image;
    }

    private static FileSystemAnalysis Analyze(string image)
    {
        using var stream = File.OpenRead(image);
        return FileSystemDetector.Analyze(new StreamBlockSource(stream));
    }

    private static string? Blkid(string image, string tag)
    {
        ExternalTool.Require("blkid", "util-linux");
        string value = ExternalTool.RunUnchecked("blkid", null, "-p", "-o", "value", "-s", tag, image).StandardOutput.Trim();
        return value.Length == 0 ? null : value;
    }
}
