using System.Globalization;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>The files a rescue capture's unreadable ranges touch, so a technician can say what was lost. For ext2/3/4
/// e2fsprogs' <c>debugfs</c> reads the source's own filesystem read-only (<c>-c</c>, through <c>DEVICE?offset=START</c>,
/// so no partition node is needed): <c>icheck</c> turns the unreadable blocks into inodes and <c>ncheck</c> the inodes
/// into paths. It runs at the end of the capture, on the disk the capture read, and reads only filesystem metadata,
/// which the capture has just read without error (an unreadable inode table makes it fail, and then the warning says
/// so). The paths go into the capture record, so <c>info</c> names them from the image alone.</summary>
internal static class AffectedFiles
{
    /// <summary>The most blocks looked up per partition: a bounded argument list and run time.</summary>
    private const int MaxBlocks = 4096;

    public static IReadOnlyList<AffectedFile> Find(string source, ImageMetadata metadata, IReadOnlyList<BadRange> ranges, ICollection<string> warnings)
    {
        var files = new List<AffectedFile>();
        foreach (PartitionInfo partition in metadata.Partitions)
        {
            if (partition.Filesystem is not ("ext2" or "ext3" or "ext4") || partition.BlockSize <= 0 || source.Contains('?'))
            {
                continue;
            }
            List<long> blocks = BlocksIn(partition, ranges, out bool cut);
            if (blocks.Count == 0)
            {
                continue;
            }
            if (cut)
            {
                warnings.Add($"partition {partition.Number}: only the files of the first {MaxBlocks} unreadable blocks are named");
            }
            try
            {
                files.AddRange(ExtFiles(source, partition, blocks));
            }
            catch (Exception e) when (e is StoreException or ImagingException)
            {
                warnings.Add($"partition {partition.Number}: the files in unreadable blocks could not be named: {e.Message}");
            }
        }
        return files;
    }

    private static List<long> BlocksIn(PartitionInfo partition, IReadOnlyList<BadRange> ranges, out bool cut)
    {
        var blocks = new List<long>();
        cut = false;
        long end = partition.StartBytes + partition.SizeBytes;
        foreach (BadRange range in ranges)
        {
            long first = Math.Max(range.Position, partition.StartBytes);
            long last = Math.Min(range.End, end) - 1;
            for (long block = (first - partition.StartBytes) / partition.BlockSize; first <= last && block <= (last - partition.StartBytes) / partition.BlockSize; block++)
            {
                if (blocks.Count == MaxBlocks)
                {
                    cut = true;
                    return blocks;
                }
                if (blocks.Count == 0 || blocks[^1] != block)
                {
                    blocks.Add(block);
                }
            }
        }
        return blocks;
    }

    private static IEnumerable<AffectedFile> ExtFiles(string source, PartitionInfo partition, List<long> blocks)
    {
        string device = $"{source}?offset={partition.StartBytes}";
        // icheck prints "BLOCK<TAB>INODE" (or "<block not found>" for free and metadata blocks).
        var firstBlock = new Dictionary<long, long>();
        foreach (string[] fields in Debugfs(device, $"icheck {string.Join(' ', blocks)}"))
        {
            if (fields.Length == 2 && long.TryParse(fields[0], CultureInfo.InvariantCulture, out long block)
                && long.TryParse(fields[1], CultureInfo.InvariantCulture, out long inode) && !firstBlock.ContainsKey(inode))
            {
                firstBlock[inode] = block;
            }
        }
        if (firstBlock.Count == 0)
        {
            yield break;
        }
        // ncheck -c prints "INODE<TAB>PATH" for each name of each inode.
        foreach (string[] fields in Debugfs(device, $"ncheck -c {string.Join(' ', firstBlock.Keys)}"))
        {
            if (fields.Length == 2 && long.TryParse(fields[0], CultureInfo.InvariantCulture, out long inode) && firstBlock.TryGetValue(inode, out long block)
                && fields[1].StartsWith('/'))
            {
                yield return new AffectedFile(partition.Number, "/" + fields[1].TrimStart('/'), partition.StartBytes + block * partition.BlockSize);
            }
        }
    }

    private static IEnumerable<string[]> Debugfs(string device, string request)
    {
        ToolOutput output = StoreTools.Run(new MountCommand("debugfs", ["-c", "-R", request, device]));
        if (output.ExitCode != 0)
        {
            throw new ImagingException($"debugfs {request.Split(' ')[0]} failed: {output.StandardError.Trim()}");
        }
        return output.StandardError.Split('\n').Select(line => line.TrimEnd('\r').Split('\t'));
    }
}
