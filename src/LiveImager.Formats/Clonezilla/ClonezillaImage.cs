using System.Text.RegularExpressions;

namespace LiveImager.Formats.Clonezilla;

/// <summary>One partition's image in a Clonezilla directory: a partclone stream (or raw bytes for <c>dd</c>),
/// compressed, possibly split into pieces that are concatenated before decompressing.</summary>
/// <param name="Device">The partition's device name as Clonezilla wrote it ("sda1", "nvme0n1p2"; '/' as '-').</param>
/// <param name="Number">The partition number the name ends in.</param>
/// <param name="FileSystem">The name's filesystem part ("ext4", "vfat", "ntfs", "dd").</param>
/// <param name="Compression">"zst", "gz", "xz", "bz2", "lz4", "lzo", "lzma", "lzip", "lrz" or "uncomp".</param>
/// <param name="Pieces">The file names in order: one, or the .aa, .ab… pieces of a split.</param>
/// <param name="IsRaw">True for <c>*.dd-ptcl-img.*</c>: the partition's bytes with no partclone header.</param>
public sealed record ClonezillaPartitionImage(string Device, int Number, string FileSystem, string Compression,
    IReadOnlyList<string> Pieces, bool IsRaw)
{
    /// <summary>How messages name it: the device and its first file.</summary>
    public string Describe() => $"{Device} in {Pieces[0]}" + (Pieces.Count > 1 ? $" (+{Pieces.Count - 1} pieces)" : string.Empty);
}

/// <summary>A swap partition Clonezilla recreates instead of imaging: <c>swappt-sda5.info</c> with its UUID and label.</summary>
public sealed record ClonezillaSwap(string Device, int Number, string? Uuid, string? Label);

/// <summary>A Clonezilla image directory as its file names say (ocs-functions of Clonezilla's source): <c>disk</c> and
/// <c>parts</c> name the disk and partitions; per disk <c>sda-pt.sf</c> (sfdisk dump), <c>sda-mbr</c>,
/// <c>sda-hidden-data-after-mbr</c>, <c>sda-gpt-1st</c>, <c>sda-gpt-2nd</c>, <c>sda-gpt.sgdisk</c>; per partition
/// <c>sda1.ext4-ptcl-img.zst</c> (split as <c>.aa</c>, <c>.ab</c>…), <c>swappt-sda5.info</c>.</summary>
/// <remarks>Pure: the Engine lists the directory and hands over the small text files' contents.</remarks>
public sealed partial record ClonezillaImage(string Disk, IReadOnlyList<string> PartitionDevices,
    IReadOnlyList<ClonezillaPartitionImage> Images, IReadOnlyList<ClonezillaSwap> Swaps, IReadOnlyList<string> Files)
{
    /// <summary>Most partitions and files considered: far past any real image.</summary>
    public const int MaxPartitions = 1024;
    public const int MaxFiles = 1 << 16;

    /// <summary>Largest <c>disk</c>, <c>parts</c>, <c>*.info</c> or <c>*-pt.sf</c> file read.</summary>
    public const int MaxTextFile = 1 << 20;

    public static IReadOnlyList<string> Compressions { get; } = ["zst", "gz", "xz", "bz2", "lz4", "lzo", "lzma", "lzip", "lrz", "uncomp"];

    // sda1.ext4-ptcl-img.zst, sda1.ext4-ptcl-img.zst.aa, sda1.ext4-ptcl-img.zst.aaa
    [GeneratedRegex(@"^(?<dev>[A-Za-z0-9_.-]+?)\.(?<fs>[A-Za-z0-9_+]+)-ptcl-img\.(?<comp>[a-z0-9]+)(\.(?<piece>[a-z]{2,}))?$")]
    private static partial Regex PartcloneName();

    // Older Clonezilla images: ntfsclone (sda1.ntfs-img.gz…), dd (sda1.dd-img…) and partimage (sda1.aa, sda1.000).
    [GeneratedRegex(@"^(?<dev>[A-Za-z0-9_.-]+?)\.(ntfs-img|dd-img)(\..*)?$")]
    private static partial Regex OldToolName();

    [GeneratedRegex(@"^(?<dev>[A-Za-z0-9_-]+)\.(aa|000)$")]
    private static partial Regex PartimageName();

    [GeneratedRegex(@"^swappt-(?<dev>[A-Za-z0-9_-]+)\.info$")]
    private static partial Regex SwapInfoName();

    [GeneratedRegex(@"^(?<key>UUID|LABEL)=""(?<value>[^""]*)""\s*$", RegexOptions.Multiline)]
    private static partial Regex SwapInfoLine();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex DeviceName();

    /// <summary>True when <paramref name="files"/> look like a Clonezilla image directory: ocs-sr writes a <c>disk</c>
    /// file (whole disks) or a <c>parts</c> file (partitions) into every image; <see cref="Parse"/> says what is missing.</summary>
    public static bool Looks(IReadOnlyCollection<string> files) => files.Contains("disk") || files.Contains("parts");

    /// <summary>Reads the directory's names and its small text files.</summary>
    /// <param name="files">The directory's file names (not paths).</param>
    /// <param name="readText">The contents of one of those files (at most <see cref="MaxTextFile"/> bytes).</param>
    /// <exception cref="DiskFormatException">Not a Clonezilla image this LiveImager restores, with the reason.</exception>
    public static ClonezillaImage Parse(IReadOnlyList<string> files, Func<string, string> readText)
    {
        const string Structure = "Clonezilla image";
        if (files.Count > MaxFiles)
        {
            throw new DiskFormatException(Structure, $"holds {files.Count} files, more than the {MaxFiles} this LiveImager reads");
        }
        if (!files.Contains("disk"))
        {
            throw new DiskFormatException(Structure, files.Contains("parts")
                ? "holds partitions only (a \"parts\" file and no \"disk\" file): restoring single partitions is not supported, only whole disks"
                : "has no \"disk\" file naming the disk it was saved from");
        }
        string[] disks = Words(readText("disk"));
        if (disks.Length != 1 || !DeviceName().IsMatch(disks[0]))
        {
            throw new DiskFormatException(Structure, "disk", string.Join(" ", disks), 0,
                disks.Length > 1 ? "holds several disks; this LiveImager restores images of one disk" : "expected one disk name");
        }
        string disk = disks[0];
        if (files.Any(f => f.StartsWith("lvm_", StringComparison.Ordinal)))
        {
            throw new DiskFormatException(Structure, "holds LVM volumes saved one by one (lvm_*.list), which this LiveImager does not restore");
        }
        string[] parts = files.Contains("parts") ? Words(readText("parts")) : [];
        if (parts.Length > MaxPartitions || parts.Any(p => !DeviceName().IsMatch(p)))
        {
            throw new DiskFormatException(Structure, "parts", string.Join(" ", parts.Take(8)), 0, "expected partition device names");
        }

        var images = new List<ClonezillaPartitionImage>();
        var swaps = new List<ClonezillaSwap>();
        foreach (string part in parts)
        {
            int number = PartitionNumber(disk, part);
            string? refused = files.FirstOrDefault(f => (OldToolName().Match(f) is { Success: true } m && m.Groups["dev"].Value == part) ||
                (PartimageName().Match(f) is { Success: true } p && p.Groups["dev"].Value == part));
            if (refused is not null)
            {
                string tool = refused.Contains(".ntfs-img") ? "ntfsclone" : refused.Contains(".dd-img") ? "dd (an old Clonezilla)" : "partimage";
                throw new DiskFormatException(Structure, $"{part} was saved by {tool} ({refused}), which this LiveImager does not read; " +
                    "restore it with Clonezilla, or save the disk again with a current Clonezilla (partclone)");
            }
            var matches = files.Select(f => (File: f, Match: PartcloneName().Match(f)))
                .Where(x => x.Match.Success && x.Match.Groups["dev"].Value == part).ToList();
            if (matches.Count == 0)
            {
                string info = $"swappt-{part}.info";
                if (files.Contains(info))
                {
                    swaps.Add(ParseSwap(part, number, readText(info)));
                    continue;
                }
                throw new DiskFormatException(Structure, $"\"parts\" names {part} but the directory holds no image of it ({part}.*-ptcl-img.*) " +
                    "nor swap information (swappt-" + part + ".info): the image is incomplete");
            }
            string fs = matches[0].Match.Groups["fs"].Value;
            string compression = matches[0].Match.Groups["comp"].Value;
            if (matches.Any(x => x.Match.Groups["fs"].Value != fs || x.Match.Groups["comp"].Value != compression))
            {
                throw new DiskFormatException(Structure, $"{part} has images of several kinds: {string.Join(", ", matches.Select(x => x.File))}");
            }
            if (!Compressions.Contains(compression))
            {
                throw new DiskFormatException(Structure, $"{matches[0].File}: unknown compression \"{compression}\"; known are {string.Join(", ", Compressions)}");
            }
            images.Add(new ClonezillaPartitionImage(part, number, fs, compression, Pieces(part, matches), fs == "dd"));
        }
        return new ClonezillaImage(disk, parts, images, swaps, [.. files.Order(StringComparer.Ordinal)]);
    }

    /// <summary>The image's file for one per-disk item ("pt.sf", "mbr", "gpt-1st"…), or null when absent.</summary>
    public string? DiskFile(string suffix)
    {
        string name = suffix.StartsWith('.') ? $"{Disk}{suffix}" : $"{Disk}-{suffix}";
        return Files.Contains(name) ? name : null;
    }

    /// <summary>The single file, or the split pieces in order, checked to run .aa, .ab… without a gap.</summary>
    private static List<string> Pieces(string part, List<(string File, Match Match)> matches)
    {
        var whole = matches.Where(x => !x.Match.Groups["piece"].Success).Select(x => x.File).ToList();
        var pieces = matches.Where(x => x.Match.Groups["piece"].Success).OrderBy(x => x.Match.Groups["piece"].Value, StringComparer.Ordinal).ToList();
        if (whole.Count > 0 && pieces.Count > 0)
        {
            throw new DiskFormatException("Clonezilla image", $"{part} has both a whole image ({whole[0]}) and split pieces ({pieces[0].File})");
        }
        if (whole.Count > 0)
        {
            return whole;
        }
        int width = pieces[0].Match.Groups["piece"].Value.Length;
        for (int i = 0; i < pieces.Count; i++)
        {
            string expected = SuffixAt(i, width);
            string actual = pieces[i].Match.Groups["piece"].Value;
            if (actual != expected)
            {
                throw new DiskFormatException("Clonezilla image", $"{part}: split piece .{expected} is missing " +
                    $"(found .{actual} after {(i == 0 ? "nothing" : pieces[i - 1].File)}): the image is incomplete");
            }
        }
        return [.. pieces.Select(p => p.File)];
    }

    /// <summary>split(1)'s suffix number <paramref name="index"/> of <paramref name="width"/> letters: aa, ab… zz.</summary>
    private static string SuffixAt(int index, int width)
    {
        var letters = new char[width];
        for (int i = width - 1; i >= 0; i--)
        {
            letters[i] = (char)('a' + index % 26);
            index /= 26;
        }
        return new string(letters);
    }

    /// <summary>The number a partition's name ends in after its disk's ("sda5" → 5, "nvme0n1p2" → 2).</summary>
    private static int PartitionNumber(string disk, string part)
    {
        string rest = part.StartsWith(disk, StringComparison.Ordinal) ? part[disk.Length..] : string.Empty;
        if (rest.StartsWith('p'))
        {
            rest = rest[1..];
        }
        if (!int.TryParse(rest, System.Globalization.NumberStyles.None, null, out int number) || number < 1 || number > MaxPartitions)
        {
            throw new DiskFormatException("Clonezilla image", "parts", part, 0, $"is not a partition of the disk {disk}");
        }
        return number;
    }

    private static ClonezillaSwap ParseSwap(string part, int number, string text)
    {
        string? uuid = null;
        string? label = null;
        foreach (Match m in SwapInfoLine().Matches(text))
        {
            string value = m.Groups["value"].Value;
            if (m.Groups["key"].Value == "UUID")
            {
                uuid = Guid.TryParse(value, out Guid parsed) ? parsed.ToString() : value.Length == 0 ? null
                    : throw new DiskFormatException($"swappt-{part}.info", "UUID", value, 0, "is not a UUID");
            }
            else
            {
                label = value.Length == 0 ? null : value.Length <= 16 ? value
                    : throw new DiskFormatException($"swappt-{part}.info", "LABEL", value, 0, "is longer than a swap label's 16 bytes");
            }
        }
        return new ClonezillaSwap(part, number, uuid, label);
    }

    private static string[] Words(string text) => text.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
}
