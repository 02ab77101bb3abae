using System.Text.RegularExpressions;
using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.Btrfs;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Btrfs;

/// <summary>Hostile metadata: random bytes written over the superblock and the live tree blocks of a real filesystem,
/// with the checksums recomputed as a forger would, must give a <see cref="DiskFormatException"/> or a map that still
/// marks every block the pristine map marks; never another exception, a hang, or a map that drops a used block.</summary>
public sealed partial class BtrfsMutationTests(BtrfsPristineImages pristine) : IClassFixture<BtrfsPristineImages>
{
    private const int Rounds = 300;

    [SkippableFact]
    public void Mutated_tree_blocks_never_give_anything_but_an_error_or_a_map_that_keeps_every_used_block()
    {
        BtrfsLoopMount.RequireTools();
        string path = pristine.Dup.Path;
        byte[] volume = File.ReadAllBytes(path);
        var module = new BtrfsModule();
        var source = new StreamBlockSource(new MemoryStream(volume, writable: false));
        byte[] clean = module.Analyze(source).Map.ToBitmap();
        int nodeSize = (int)BtrfsSuperblock.Parse(volume.AsSpan(BtrfsSuperblock.Offset, BtrfsSuperblock.Size)).NodeSize;
        var blocks = MappedTreeBlocks(path)
            .Select(block => (Copies: BtrfsCorruptionTests.TreeBlockCopies(path, block.Logical), block.LiveStart, block.FreeBytes))
            .ToList();
        // At least one block each of the root, chunk, extent and device trees; how many more depends on how the
        // kernel happened to split the extent tree.
        Assert.True(blocks.Count >= 4, $"the pristine filesystem has {blocks.Count} tree blocks in the trees the map reads");

        var random = new Random(11);
        int chosen = 0;
        var (mapped, rejected) = Mutate(module, source, volume, clean, random, () =>
        {
            chosen = random.Next(blocks.Count);
            return (blocks[chosen].Copies, nodeSize, true);
        }, () =>
        {
            // Live bytes only: the header and entries, then (in a leaf) the item data after the free space.
            var block = blocks[chosen];
            int offset = random.Next(BtrfsChecksum.FieldSize, nodeSize - block.FreeBytes);
            return offset < block.LiveStart ? offset : offset + block.FreeBytes;
        });

        Assert.True(rejected > Rounds / 4 && mapped > 0, $"mapped {mapped}, rejected {rejected}");
    }

    [SkippableFact]
    public void Mutated_superblocks_never_give_anything_but_an_error_or_a_map_that_keeps_every_used_block()
    {
        BtrfsLoopMount.RequireTools();
        byte[] volume = File.ReadAllBytes(pristine.Dup.Path);
        var module = new BtrfsModule();
        var source = new StreamBlockSource(new MemoryStream(volume, writable: false));
        byte[] clean = module.Analyze(source).Map.ToBitmap();
        List<long> superblock = [BtrfsSuperblock.Offset];

        var random = new Random(12);
        // The fields the map depends on lie in the first 0x200 bytes and the sys_chunk_array; aim most rounds there.
        var (mapped, rejected) = Mutate(module, source, volume, clean, random,
            () => (superblock, BtrfsSuperblock.Size, random.Next(8) != 0),
            () => random.Next(2) == 0
                ? random.Next(BtrfsChecksum.FieldSize, 0x200)
                : random.Next(BtrfsSuperblock.SysChunkArrayOffset, BtrfsSuperblock.SysChunkArrayOffset + 0x80));

        Assert.True(rejected > 0 && mapped > 0, $"mapped {mapped}, rejected {rejected}");
    }

    /// <summary>Rounds of one to four random bytes written at offsets <paramref name="offset"/> chooses in every copy
    /// of the block <paramref name="block"/> chooses, its checksum recomputed when it says so, each analysed and then
    /// undone.</summary>
    private static (int Mapped, int Rejected) Mutate(BtrfsModule module, IBlockSource source, byte[] volume, byte[] clean,
        Random random, Func<(List<long> Copies, int Size, bool FixChecksum)> block, Func<int> offset)
    {
        int mapped = 0;
        int rejected = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var (copies, size, fixChecksum) = block();
            var saved = copies.Select(copy => volume.AsSpan((int)copy, size).ToArray()).ToList();
            int count = random.Next(1, 5);
            var offsets = Enumerable.Range(0, count).Select(_ => offset()).ToArray();
            var values = offsets.Select(_ => (byte)random.Next(256)).ToArray();
            foreach (long copy in copies)
            {
                for (int i = 0; i < count; i++)
                {
                    volume[copy + offsets[i]] = values[i];
                }
                if (fixChecksum)
                {
                    BtrfsChecksum.Write(BtrfsChecksum.TypeCrc32C, volume.AsSpan((int)copy, size));
                }
            }
            try
            {
                var analysis = module.Analyze(source);
                byte[] bitmap = analysis.Map.ToBitmap();
                if (!analysis.IsWholeCopy)
                {
                    Assert.Equal(clean.Length, bitmap.Length);
                }
                for (int i = 0; i < Math.Min(clean.Length, bitmap.Length); i++)
                {
                    Assert.True((clean[i] & ~bitmap[i]) == 0,
                        $"round {round}: bytes {string.Join(',', offsets)} of the block at {copies[0]} set to {Convert.ToHexString(values)}: "
                        + $"the map ({analysis.Method}) drops used blocks from {i * 8}");
                }
                mapped++;
            }
            catch (DiskFormatException)
            {
                rejected++;
            }
            finally
            {
                for (int c = 0; c < copies.Count; c++)
                {
                    saved[c].CopyTo(volume.AsSpan((int)copies[c]));
                }
            }
        }
        return (mapped, rejected);
    }

    /// <summary>The tree blocks of the trees the map reads (root, chunk, extent, device), as dump-tree lists them:
    /// logical address, where the free space between entries and leaf data starts, and its size.</summary>
    private static List<(ulong Logical, int LiveStart, int FreeBytes)> MappedTreeBlocks(string image) =>
        BlockRegex().Matches(ExternalTool.Run("btrfs", "inspect-internal", "dump-tree", image))
            .Where(match => match.Groups[5].Value is "ROOT_TREE" or "CHUNK_TREE" or "EXTENT_TREE" or "DEV_TREE")
            .Select(match => (ulong.Parse(match.Groups[2].Value),
                BtrfsHeader.Size + (int.Parse(match.Groups[3].Value) * (match.Groups[1].Value == "leaf" ? BtrfsHeader.ItemSize : BtrfsHeader.KeyPtrSize)),
                int.Parse(match.Groups[4].Value)))
            .DistinctBy(block => block.Item1).ToList();

    [GeneratedRegex(@"^(leaf|node) (\d+) (?:level \d+ )?items (\d+) free space (\d+) generation \d+ owner (\S+)", RegexOptions.Multiline)]
    private static partial Regex BlockRegex();
}
