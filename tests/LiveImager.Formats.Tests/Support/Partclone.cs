using System.Text.RegularExpressions;

namespace LiveImager.Formats.Tests.Support;

/// <summary>partclone as the oracle for used-block counts: what Clonezilla would copy of the same filesystem.</summary>
public static partial class Partclone
{
    /// <summary>Runs <c>partclone.TOOL -c</c> (with no progress delay: "-f 0") on <paramref name="source"/> and returns its used-block count and block size.</summary>
    /// <param name="tool">The partclone flavour: extfs, fat, exfat, ntfs.</param>
    public static (long UsedBlocks, int BlockSize) UsedBlocks(string tool, string source, ScratchDirectory scratch)
    {
        string log = scratch.File($"partclone-{tool}.log");
        ExternalTool.Run($"partclone.{tool}", "-c", "-s", source, "-O", scratch.File($"partclone-{tool}.img"), "-L", log, "-F", "-f", "0");
        string text = System.IO.File.ReadAllText(log);
        var used = UsedRegex().Match(text);
        var blockSize = BlockSizeRegex().Match(text);
        if (!used.Success || !blockSize.Success)
        {
            throw new InvalidOperationException($"partclone's log has no used-block count:\n{text}");
        }
        System.IO.File.Delete(scratch.File($"partclone-{tool}.img"));
        return (long.Parse(used.Groups[1].Value), int.Parse(blockSize.Groups[1].Value));
    }

    [GeneratedRegex(@"Space in use:.*= *(\d+) Blocks")]
    private static partial Regex UsedRegex();

    [GeneratedRegex(@"Block size: *(\d+) Byte")]
    private static partial Regex BlockSizeRegex();
}
