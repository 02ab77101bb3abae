using System.Globalization;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>The files a rescue capture's unreadable ranges touch, so a technician can say what was lost. For ext2/3/4
/// e2fsprogs' <c>debugfs</c> reads the source's own filesystem read-only (<c>-c</c>, through <c>DEVICE?offset=START</c>,
/// so no partition node is needed): <c>icheck</c> turns the unreadable blocks into inodes and <c>ncheck</c> the inodes
/// into paths. It runs at the end of the capture, on the disk the capture read, and reads only filesystem metadata,
/// which the capture has just read without error (an unreadable inode table makes it fail, and then the warning says
/// so). For NTFS <c>ntfscluster -s FIRST-LAST</c> (ntfs-3g) lists the files whose data runs hold each range's sectors;
/// it needs the partition's own device node, so it runs only when the source disk has them (a real disk does; an image
/// file does not). The paths go into the capture record, so <c>info</c> names them from the image alone.</summary>
internal static class AffectedFiles
{
    /// <summary>The most blocks looked up per partition: a bounded argument list and run time.</summary>
    private const int MaxBlocks = 4096;

    /// <summary>The most ranges looked up per NTFS partition: each ntfscluster run reads the whole MFT.</summary>
    private const int MaxNtfsRanges = 64;

    /// <param name="partitionNodes">The source's partition device nodes by number, where it has them.</param>
    public static IReadOnlyList<AffectedFile> Find(string source, ImageMetadata metadata, IReadOnlyList<BadRange> ranges,
        IReadOnlyDictionary<int, string> partitionNodes, ICollection<string> warnings)
    {
        var files = new List<AffectedFile>();
        foreach (PartitionInfo partition in metadata.Partitions)
        {
            if (partition.Filesystem == "ntfs")
            {
                files.AddRange(NtfsFiles(partition, ranges, partitionNodes.GetValueOrDefault(partition.Number), warnings));
                continue;
            }
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

    private static List<AffectedFile> NtfsFiles(PartitionInfo partition, IReadOnlyList<BadRange> ranges, string? node, ICollection<string> warnings)
    {
        var files = new List<AffectedFile>();
        long end = partition.StartBytes + partition.SizeBytes;
        var inside = ranges.Where(r => r.End > partition.StartBytes && r.Position < end).ToList();
        if (inside.Count == 0)
        {
            return files;
        }
        if (node is null || !File.Exists(node))
        {
            warnings.Add($"partition {partition.Number}: the NTFS files in unreadable ranges are named only on a disk with partition device nodes");
            return files;
        }
        if (inside.Count > MaxNtfsRanges)
        {
            warnings.Add($"partition {partition.Number}: only the files of the first {MaxNtfsRanges} unreadable ranges are named");
        }
        const int Sector = 512;
        var seen = new HashSet<string>();
        foreach (BadRange range in inside.Take(MaxNtfsRanges))
        {
            long first = (Math.Max(range.Position, partition.StartBytes) - partition.StartBytes) / Sector;
            long last = (Math.Min(range.End, end) - 1 - partition.StartBytes) / Sector;
            ToolOutput output = StoreTools.Run(new MountCommand("ntfscluster", ["-s", $"{first}-{last}", node]));
            if (output.ExitCode != 0)
            {
                warnings.Add($"partition {partition.Number}: ntfscluster failed: {output.StandardError.Trim()}");
                return files;
            }
            // "Inode 64 /dir/name/$DATA": the path, then the attribute; system files ($MFT, $LogFile…) are named too.
            foreach (string line in output.StandardError.Split('\n'))
            {
                string[] fields = line.TrimEnd('\r').Split(' ', 3);
                if (fields.Length == 3 && fields[0] == "Inode" && fields[2].StartsWith('/'))
                {
                    string path = fields[2];
                    int attribute = path.LastIndexOf("/$", StringComparison.Ordinal);
                    path = attribute > 0 ? path[..attribute] : path;
                    if (seen.Add(path))
                    {
                        files.Add(new AffectedFile(partition.Number, path, Math.Max(range.Position, partition.StartBytes)));
                    }
                }
            }
        }
        return files;
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
