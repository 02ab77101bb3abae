using System.Text.RegularExpressions;
using LiveImager.Formats.FileSystems.Ext;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Ext;

/// <summary>The ends of inode tables past bg_itable_unused: left out of the map only with descriptor checksums and only
/// where the group's checksum verifies, and the restore's fix-up that clears INODE_ZEROED where one was left out.</summary>
public sealed partial class ExtUnusedInodeTableTests
{
    /// <summary>mke2fs options (4 KiB blocks, 8 groups of 2048 blocks, 512 inodes of 256 bytes each: 32 table blocks
    /// per group), whether the tables' ends are left out, and whether a restore must clear INODE_ZEROED.</summary>
    private static readonly Dictionary<string, (string Options, bool LeftOut, bool Fixup)> s_cases = new()
    {
        // mke2fs discards a file, finds it reads back as zeros, and marks every table zeroed.
        ["metadata-csum"] = ("-t ext4 -b 4096 -g 2048 -N 4096", true, true),
        ["lazy-itable"] = ("-t ext4 -b 4096 -g 2048 -N 4096 -E nodiscard,lazy_itable_init=1", true, false),
        ["uninit-bg"] = ("-t ext4 -b 4096 -g 2048 -N 4096 -O ^metadata_csum,uninit_bg", true, true),
        ["no-checksums"] = ("-t ext4 -b 4096 -g 2048 -N 4096 -O ^metadata_csum,^uninit_bg", false, false),
        ["ext3"] = ("-t ext3 -b 4096 -g 2048 -N 4096", false, false),
        ["bigalloc"] = ("-t ext4 -b 4096 -O bigalloc -C 16384 -g 1024 -N 4096", true, true),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void TableEndsPastItableUnusedAreLeftOutOnlyWithDescriptorChecksums(string name)
    {
        ExtTestImage.RequireTools();
        ExternalTool.Require("dumpe2fs", "e2fsprogs");
        using var scratch = new ScratchDirectory();
        var (options, leftOut, fixup) = s_cases[name];
        var image = ExtTestImage.Create(scratch, name, options, 64);
        var groups = Groups(image.Path);
        int clusterBlocks = options.Contains("bigalloc", StringComparison.Ordinal)
            ? int.Parse(ExtTestImage.SuperblockField(image.Path, "Cluster size")) / 4096
            : 1;

        var analysis = ExtTestImage.Analyze(image.Path);

        Assert.False(analysis.IsWholeCopy, analysis.Method);
        long expectedBytes = 0;
        foreach (GroupTable group in groups)
        {
            long tailStart = group.TableEnd - group.UnusedBlocks;
            for (long block = group.TableStart; block < group.TableEnd; block++)
            {
                // Under bigalloc only clusters wholly inside the table's end are left out.
                bool whollyInTail = block / clusterBlocks * clusterBlocks >= tailStart
                    && (block / clusterBlocks + 1) * clusterBlocks <= group.TableEnd;
                bool expectedUsed = !(leftOut && whollyInTail);
                Assert.True(expectedUsed == analysis.Map.IsUsed(block / clusterBlocks),
                    $"group {group.Number} inode table block {block} (table {group.TableStart}..{group.TableEnd - 1}, " +
                    $"{group.UnusedBlocks} unused): expected {(expectedUsed ? "used" : "left out")}");
            }
            if (leftOut)
            {
                long firstCluster = (tailStart + clusterBlocks - 1) / clusterBlocks;
                expectedBytes += Math.Max(0, group.TableEnd / clusterBlocks - firstCluster) * clusterBlocks * 4096L;
            }
        }
        Assert.Equal(expectedBytes, analysis.UnusedMetadataBytes);
        Assert.Equal(leftOut, analysis.UnusedMetadataBytes > 0);
        Assert.Equal(fixup ? [ExtInodeTableFixup.Name] : Array.Empty<string>(), analysis.RestoreFixups);

        // The copy holds zeros where the table ends were left out; with random bytes there instead and the fix-up
        // applied, as a restore onto a used disk leaves it, e2fsck finds it sound and every file reads back.
        string copy = scratch.File("copy.img");
        UsedBlockCopy.Copy(image.Path, copy, analysis, 0, new FileInfo(image.Path).Length);
        image.AssertCopyIsComplete(copy, scratch);
        if (leftOut)
        {
            FillLeftOutWithRandomBytes(copy, groups, clusterBlocks);
            ApplyFixup(copy);
            image.AssertCopyIsComplete(copy, scratch);
            Assert.DoesNotContain(Groups(copy), g => g.UnusedBlocks >= clusterBlocks && g.Zeroed);
        }
    }

    [SkippableFact]
    public void TheFixupClearsInodeZeroedOnlyWhereATableEndIsUnused()
    {
        ExtTestImage.RequireTools();
        ExternalTool.Require("dumpe2fs", "e2fsprogs");
        using var scratch = new ScratchDirectory();
        var image = ExtTestImage.Create(scratch, "fixup", "-t ext4 -b 4096 -g 2048 -N 4096", 64);
        var before = Groups(image.Path);
        Assert.All(before, g => Assert.True(g.Zeroed));

        ApplyFixup(image.Path);

        var after = Groups(image.Path);
        Assert.Equal(before.Select(g => g.UnusedBlocks == 0), after.Select(g => g.Zeroed));
        Assert.Contains(after, g => !g.Zeroed);
        // Applied again, it finds nothing left to clear.
        using var stream = new FileStream(image.Path, FileMode.Open, FileAccess.Read);
        Assert.Empty(ExtInodeTableFixup.Patches(new StreamBlockSource(stream)));
    }

    private static void ApplyFixup(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        foreach (var (offset, block) in ExtInodeTableFixup.Patches(new StreamBlockSource(stream)).ToList())
        {
            stream.Position = offset;
            stream.Write(block);
        }
    }

    private static void FillLeftOutWithRandomBytes(string path, IEnumerable<GroupTable> groups, int clusterBlocks)
    {
        var random = new Random(3);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        foreach (GroupTable group in groups)
        {
            long first = (group.TableEnd - group.UnusedBlocks + clusterBlocks - 1) / clusterBlocks * clusterBlocks;
            long end = group.TableEnd / clusterBlocks * clusterBlocks;
            if (end > first)
            {
                var noise = new byte[(end - first) * 4096];
                random.NextBytes(noise);
                stream.Position = first * 4096;
                stream.Write(noise);
            }
        }
    }

    /// <summary>Each group's inode table (first block, end block exclusive), unused table blocks and whether
    /// ITABLE_ZEROED is set, from dumpe2fs; the blocks are 4 KiB and the inodes 256 bytes, so 16 per block.</summary>
    public static List<GroupTable> Groups(string image)
    {
        // dumpe2fs prints the groups and then fails when a descriptor checksum does not verify.
        string dump = ExternalTool.RunUnchecked("dumpe2fs", null, image).StandardOutput;
        int inodesPerGroup = int.Parse(ExtTestImage.SuperblockField(image, "Inodes per group"));
        int inodeSize = int.Parse(ExtTestImage.SuperblockField(image, "Inode size"));
        int blockSize = int.Parse(ExtTestImage.SuperblockField(image, "Block size"));
        int perBlock = blockSize / inodeSize;
        var groups = new List<GroupTable>();
        foreach (Match match in GroupPattern().Matches(dump))
        {
            long start = long.Parse(match.Groups["start"].Value);
            long end = long.Parse(match.Groups["end"].Value) + 1;
            int unused = match.Groups["unused"].Success ? int.Parse(match.Groups["unused"].Value) : 0;
            long usedBlocks = (inodesPerGroup - unused + perBlock - 1) / perBlock;
            groups.Add(new GroupTable(int.Parse(match.Groups["number"].Value), start, end, end - start - usedBlocks,
                match.Groups["flags"].Value.Contains("ITABLE_ZEROED", StringComparison.Ordinal)));
        }
        Assert.Equal(GroupCount().Count(dump), groups.Count);
        return groups;
    }

    public sealed record GroupTable(int Number, long TableStart, long TableEnd, long UnusedBlocks, bool Zeroed);

    [GeneratedRegex(@"^Group (?<number>\d+): [^\n\[]*(?:\[(?<flags>[^\]]*)\])?[^\n]*\n(?:  .*\n)*?  Inode table at (?<start>\d+)-(?<end>\d+).*\n  [^\n]*?(?:(?<unused>\d+) unused inodes)?\n", RegexOptions.Multiline)]
    private static partial Regex GroupPattern();

    [GeneratedRegex(@"^Group \d+:", RegexOptions.Multiline)]
    private static partial Regex GroupCount();
}
