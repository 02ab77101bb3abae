namespace LiveImager.Formats.Partitions;

/// <summary>One partition of the source as the fit planner sees it.</summary>
/// <param name="Type">MBR type as "0x83", or the GPT type GUID in lower case.</param>
/// <param name="Filesystem">The filesystem the capture found ("ext4", "ntfs", "swap", "fat32", "unknown"…).</param>
/// <param name="UsedBytes">Bytes the filesystem has in use (its used blocks × block size).</param>
public sealed record FitSource(int Number, long StartBytes, long SizeBytes, string Type, string Filesystem, long UsedBytes);

/// <summary>What a planned partition goes through on its way to the smaller disk.</summary>
public enum FitAction
{
    /// <summary>Copied as it is, same size.</summary>
    Keep,
    /// <summary>The filesystem is shrunk by its own tool on the overlay, then its used blocks copied.</summary>
    Shrink,
    /// <summary>Swap made again at the new size with its UUID and label.</summary>
    Recreate,
}

/// <summary>One partition's place on the target.</summary>
public sealed record FitPlacement(FitSource Source, long NewStartBytes, long NewSizeBytes, FitAction Action)
{
    public long NewEndBytes => NewStartBytes + NewSizeBytes;
}

/// <summary>Why the data cannot fit: the partition that does not fit, what it needs and what the target leaves it.</summary>
/// <param name="Number">The partition, or 0 when the partitions that keep their size alone do not fit.</param>
/// <param name="HeldBytes">Bytes the partition holds (its used bytes; for kept partitions, their sizes).</param>
/// <param name="NeededBytes">What it needs with the margin.</param>
/// <param name="RoomBytes">What the target leaves for it once every other partition has its minimum.</param>
public sealed record FitRefusal(int Number, string Filesystem, long HeldBytes, long NeededBytes, long RoomBytes, string Why);

/// <summary>The planned layout, or why there is none.</summary>
public sealed record FitPlan(IReadOnlyList<FitPlacement> Placements, FitRefusal? Refusal)
{
    public bool Fits => Refusal is null;
}

/// <summary>Plans a source disk's partitions onto a smaller target (docs/restore-fit.md): the order, types, GUIDs and
/// the gaps before each partition stay; partitions a firmware or an OS expects at a fixed size (EFI, MSR, BIOS boot,
/// recovery) and filesystems that cannot shrink keep their size; ext2/3/4 and NTFS share what is left in proportion to
/// their free space, never below their used bytes plus <see cref="Margin"/>; swap keeps its size unless the others do
/// not fit without shrinking it too.</summary>
public static class FitPlanner
{
    /// <summary>Partitions start and end on 1 MiB, as partitioning tools align them.</summary>
    public const long Alignment = 1 << 20;

    /// <summary>Room left at the end of a GPT disk for the backup entry array and header (33 sectors of 512 bytes,
    /// 5 of 4096), rounded up to the alignment.</summary>
    public const long GptBackupReserve = Alignment;

    /// <summary>The smallest a swap partition is made when it has to shrink.</summary>
    public const long MinimumSwapBytes = 64L << 20;

    /// <summary>Sizes a partition must keep whatever the filesystem in it (GPT type GUIDs and MBR type bytes).</summary>
    private static readonly HashSet<string> s_fixedTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", // EFI system partition
        "e3c9e316-0b5c-4db8-817d-f92df00215ae", // Microsoft reserved
        "21686148-6449-6e6f-744e-656564454649", // BIOS boot (GRUB core.img)
        "de94bba4-06d1-4d40-a16a-bfd50179d6ac", // Windows recovery environment
        "0xef", // EFI on MBR
        "0x27", // hidden NTFS recovery on MBR
    };

    /// <summary>What a shrunk filesystem keeps beyond its used bytes: a tenth of them, at least 4 MiB. resize2fs needs
    /// room for the metadata of the groups that remain and ntfsresize for the MFT's growth; the system on it needs room
    /// to work after its first boot. When a tool still finds the size too small it says so and nothing is written.</summary>
    public static long Margin(long usedBytes) => Math.Max(usedBytes / 10, MinimumMargin);

    /// <summary>The smallest margin, for a nearly empty filesystem.</summary>
    public const long MinimumMargin = 4L << 20;

    /// <summary>True for a filesystem <c>--fit</c> shrinks with its own tool.</summary>
    public static bool CanShrink(string filesystem) => filesystem is "ext2" or "ext3" or "ext4" or "ntfs" or "btrfs";

    /// <summary>The smallest size the kernel resizes a btrfs filesystem to (its ioctl refuses less than 256 MiB).</summary>
    public const long MinimumBtrfsBytes = 256L << 20;

    /// <summary>What btrfs needs beyond its used bytes and the margin: its data and metadata live in block groups
    /// (chunks) that a shrink moves whole, so partly filled ones and the metadata's second copy need room of their own.</summary>
    public const long BtrfsChunkRoom = 128L << 20;

    /// <summary>Why <paramref name="filesystem"/> keeps its size, for the plan and a refusal.</summary>
    public static string WhyKept(FitSource source) => source switch
    {
        _ when s_fixedTypes.Contains(source.Type) => "its type keeps its size (firmware and Windows expect it)",
        { Filesystem: "xfs" } => "XFS cannot shrink",
        { Filesystem: "fat12" or "fat16" or "fat32" } => "FAT is not shrunk by --fit (fatresize would make a small FAT32 a FAT16; docs/restore-fit.md)",
        { Filesystem: "swap" } => "swap keeps its size while the others fit",
        _ => $"{source.Filesystem} cannot be shrunk by --fit",
    };

    /// <summary>Plans <paramref name="partitions"/> onto a target of <paramref name="targetBytes"/>;
    /// <paramref name="layout"/> (<c>--layout</c>) gives some partitions' sizes by number, the others are planned around
    /// them.</summary>
    public static FitPlan Plan(IReadOnlyList<FitSource> partitions, PartitionTableKind table, long targetBytes,
        IReadOnlyDictionary<int, long>? layout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(targetBytes);
        layout ??= new Dictionary<int, long>();
        foreach ((int number, long requested) in layout)
        {
            FitSource? source = partitions.FirstOrDefault(p => p.Number == number);
            if (source is null)
            {
                return new FitPlan([], new FitRefusal(number, "none", 0, requested, requested, $"--layout names partition {number}, which the image does not have"));
            }
            long size = AlignUp(requested);
            if (size > source.SizeBytes)
            {
                return new FitPlan([], new FitRefusal(number, source.Filesystem, source.UsedBytes, size, source.SizeBytes,
                    "--fit never grows a partition"));
            }
            if (size < source.SizeBytes && (s_fixedTypes.Contains(source.Type) || !(CanShrink(source.Filesystem) || source.Filesystem == "swap")))
            {
                return new FitPlan([], new FitRefusal(number, source.Filesystem, source.UsedBytes, source.SizeBytes, size, WhyKept(source)));
            }
            if (size < Minimum(source))
            {
                return new FitPlan([], new FitRefusal(number, source.Filesystem, source.UsedBytes, Minimum(source), size,
                    "--layout gives it less than its used bytes plus the margin (a tenth of them, at least 4 MiB)"));
            }
        }
        Dictionary<int, long> given = layout.ToDictionary(l => l.Key, l => AlignUp(l.Value));
        FitPlan plan = Plan(partitions, table, targetBytes, given, shrinkSwap: false);
        if (plan.Fits || !partitions.Any(p => p.Filesystem == "swap" && !given.ContainsKey(p.Number)))
        {
            return plan;
        }
        // The refusal with swap at its smallest names the most room the target could leave.
        return Plan(partitions, table, targetBytes, given, shrinkSwap: true);
    }

    /// <summary>The least a partition may be given: used bytes plus the margin, whole MiB (swap: 64 MiB), never more
    /// than its size.</summary>
    private static long Minimum(FitSource p) => p.Filesystem switch
    {
        "swap" => Math.Min(p.SizeBytes, MinimumSwapBytes),
        "btrfs" => Math.Min(p.SizeBytes, AlignUp(Math.Max(MinimumBtrfsBytes + Alignment, p.UsedBytes + Margin(p.UsedBytes) + BtrfsChunkRoom))),
        _ => Math.Min(p.SizeBytes, AlignUp(p.UsedBytes + Margin(p.UsedBytes))),
    };

    private static FitPlan Plan(IReadOnlyList<FitSource> partitions, PartitionTableKind table, long targetBytes,
        Dictionary<int, long> given, bool shrinkSwap)
    {
        List<FitSource> ordered = [.. partitions.OrderBy(p => p.StartBytes)];
        if (ordered.Count == 0)
        {
            return new FitPlan([], new FitRefusal(0, "none", 0, 0, targetBytes, "the image has no partitions to fit"));
        }
        // The gaps before each partition stay: the boot loader gap before the first, an EBR before a logical one.
        long gaps = ordered[0].StartBytes;
        for (int i = 1; i < ordered.Count; i++)
        {
            gaps += Math.Max(0, ordered[i].StartBytes - ordered[i - 1].StartBytes - ordered[i - 1].SizeBytes);
        }
        long usable = targetBytes - gaps - (table == PartitionTableKind.Gpt ? GptBackupReserve : 0);

        bool Shrinkable(FitSource p) => !given.ContainsKey(p.Number) && !s_fixedTypes.Contains(p.Type)
            && (CanShrink(p.Filesystem) || (shrinkSwap && p.Filesystem == "swap"));
        long KeptSize(FitSource p) => given.TryGetValue(p.Number, out long size) ? size : p.SizeBytes;

        long fixedBytes = ordered.Where(p => !Shrinkable(p)).Sum(KeptSize);
        List<FitSource> shrinkable = [.. ordered.Where(Shrinkable)];
        long minimums = shrinkable.Sum(Minimum);
        if (fixedBytes > usable)
        {
            // Named: the largest whose filesystem is what keeps its size (FAT, XFS…), since that is what could change;
            // else the largest kept by its type or by --layout.
            FitSource largest = ordered.Where(p => !Shrinkable(p))
                .OrderBy(p => s_fixedTypes.Contains(p.Type) || given.ContainsKey(p.Number) ? 1 : 0).ThenByDescending(KeptSize).First();
            string why = given.ContainsKey(largest.Number) ? "the size --layout gives" : WhyKept(largest);
            return new FitPlan([], new FitRefusal(0, largest.Filesystem, fixedBytes, fixedBytes, Math.Max(0, usable),
                $"the partitions that keep their size take more than the target has; among them partition {largest.Number} " +
                $"({largest.Filesystem}): {why}"));
        }
        if (fixedBytes + minimums > usable)
        {
            FitSource worst = shrinkable.MaxBy(Minimum)!;
            long room = usable - fixedBytes - (minimums - Minimum(worst));
            return new FitPlan([], new FitRefusal(worst.Number, worst.Filesystem, worst.UsedBytes, Minimum(worst), Math.Max(0, room),
                "the margin is a tenth of the used bytes, at least 4 MiB, for the filesystem to stay usable"));
        }

        // Each shrinkable partition gets its minimum and a share of the rest in proportion to what it could give up.
        long extra = usable - fixedBytes - minimums;
        long weights = shrinkable.Sum(p => p.SizeBytes - Minimum(p));
        var sizes = new Dictionary<int, long>();
        foreach (FitSource p in ordered)
        {
            if (!Shrinkable(p))
            {
                sizes[p.Number] = KeptSize(p);
                continue;
            }
            long share = weights == 0 ? 0 : (long)((decimal)extra * (p.SizeBytes - Minimum(p)) / weights);
            long size = Math.Min(p.SizeBytes, Minimum(p) + share);
            sizes[p.Number] = size == p.SizeBytes ? size : Math.Max(Minimum(p), size / Alignment * Alignment);
        }

        var placements = new List<FitPlacement>(ordered.Count);
        long end = 0;
        for (int i = 0; i < ordered.Count; i++)
        {
            FitSource p = ordered[i];
            long gap = i == 0 ? p.StartBytes : Math.Max(0, p.StartBytes - ordered[i - 1].StartBytes - ordered[i - 1].SizeBytes);
            long start = end + gap;
            if (p.StartBytes % Alignment == 0)
            {
                start = AlignUp(start);
            }
            long size = sizes[p.Number];
            FitAction action = size == p.SizeBytes ? FitAction.Keep : p.Filesystem == "swap" ? FitAction.Recreate : FitAction.Shrink;
            placements.Add(new FitPlacement(p, start, size, action));
            end = start + size;
        }
        long limit = targetBytes - (table == PartitionTableKind.Gpt ? GptBackupReserve : 0);
        if (end > limit)
        {
            // Alignment of the starts can cost up to a MiB per partition; take it from the largest shrunk one.
            FitPlacement? largest = placements.Where(p => p.Action != FitAction.Keep && !given.ContainsKey(p.Source.Number)).MaxBy(p => p.NewSizeBytes - Minimum(p.Source));
            long over = AlignUp(end - limit);
            if (largest is null || largest.NewSizeBytes - over < Minimum(largest.Source))
            {
                return new FitPlan([], new FitRefusal(0, "none", end, end, limit, "the partitions' alignment leaves too little room"));
            }
            sizes[largest.Source.Number] -= over;
            return Replace(placements, sizes);
        }
        return new FitPlan(placements, null);
    }

    /// <summary>The placements again with new sizes, the starts after each shrunk partition moved up.</summary>
    private static FitPlan Replace(List<FitPlacement> placements, Dictionary<int, long> sizes)
    {
        var result = new List<FitPlacement>(placements.Count);
        long shift = 0;
        foreach (FitPlacement p in placements)
        {
            long size = sizes[p.Source.Number];
            result.Add(p with { NewStartBytes = p.NewStartBytes - shift, NewSizeBytes = size });
            shift += p.NewSizeBytes - size;
        }
        return new FitPlan(result, null);
    }

    private static long AlignUp(long bytes) => (bytes + Alignment - 1) / Alignment * Alignment;
}
