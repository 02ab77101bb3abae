namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>A physical volume as the VG metadata lists it (<c>physical_volumes { pv0 { ... } }</c>).</summary>
/// <param name="Name">The metadata's name for it ("pv0"), which segments' stripes refer to.</param>
/// <param name="Id">Its UUID with dashes, as the label's <see cref="LvmLabel.Uuid"/>.</param>
/// <param name="PeStart">Sector of the first physical extent.</param>
/// <param name="PeCount">Number of physical extents.</param>
public sealed record LvmPhysicalVolumeEntry(string Name, string Id, long PeStart, long PeCount);

/// <summary>One area of a segment on a physical volume: <paramref name="StartExtent"/> on the PV named
/// <paramref name="PhysicalVolume"/>.</summary>
public sealed record LvmSegmentArea(string PhysicalVolume, long StartExtent);

/// <summary>A segment of a logical volume (<c>segmentN { start_extent extent_count type ... }</c>).</summary>
/// <param name="StartExtent">First logical extent of the LV it covers.</param>
/// <param name="ExtentCount">Logical extents it covers.</param>
/// <param name="Type">LVM's segment type: "striped" (linear is striped with one stripe), "thin-pool", "raid1", ...</param>
/// <param name="StripeSectors">Stripe size in sectors, for striped segments of two or more stripes; 0 otherwise.</param>
/// <param name="Areas">Areas on physical volumes: a striped segment's stripes, or any PV-and-extent pair another type lists.</param>
/// <param name="References">Every string the segment holds: the LVs a thin pool, mirror or snapshot is built from.</param>
public sealed record LvmSegment(long StartExtent, long ExtentCount, string Type, long StripeSectors,
    IReadOnlyList<LvmSegmentArea> Areas, IReadOnlyList<string> References)
{
    /// <summary>True for the segment types mapped through their filesystem: linear and striped.</summary>
    public bool IsStriped => Type == "striped";

    /// <summary>Extents each area holds: a striped segment spreads its extents over its stripes; the others (mirror
    /// legs, pvmove) hold them all in each area.</summary>
    public long AreaExtents => IsStriped ? ExtentCount / Areas.Count : ExtentCount;
}

/// <summary>A logical volume of the VG metadata.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Visible">False for LVM's internal LVs (a thin pool's _tdata and _tmeta, RAID images, mirror logs).</param>
/// <param name="Segments">Its segments in logical order.</param>
public sealed record LvmLogicalVolume(string Name, bool Visible, IReadOnlyList<LvmSegment> Segments)
{
    /// <summary>Logical extents of the LV.</summary>
    public long ExtentCount => Segments.Sum(s => s.ExtentCount);
}

/// <summary>A volume group as its text metadata describes it (lvm2 lib/format_text/import_vsn1.c is the reader this
/// follows): extent size, physical volumes, and logical volumes with their segments.</summary>
public sealed class LvmVolumeGroup
{
    /// <summary>Most physical volumes a VG may list here.</summary>
    public const int MaxPhysicalVolumes = 4096;

    /// <summary>Most logical volumes a VG may list here.</summary>
    public const int MaxLogicalVolumes = 16384;

    /// <summary>Most segments one LV may have here.</summary>
    public const int MaxSegments = 65536;

    /// <summary>Most stripes of a segment: LVM's own limit (MAX_STRIPES).</summary>
    public const int MaxStripes = 128;

    /// <summary>Largest extent count of a PV, segment or LV: LVM keeps them in 32 bits.</summary>
    public const long MaxExtents = uint.MaxValue;

    /// <summary>Largest extent size in sectors (16 GiB); byte counts of LVs are checked against 64 bits where used.</summary>
    public const long MaxExtentSectors = 1L << 25;

    private const string Structure = "LVM2 metadata text";

    private LvmVolumeGroup(string name, long sequenceNumber, long extentSectors,
        IReadOnlyList<LvmPhysicalVolumeEntry> physicalVolumes, IReadOnlyList<LvmLogicalVolume> logicalVolumes)
    {
        Name = name;
        SequenceNumber = sequenceNumber;
        ExtentSectors = extentSectors;
        PhysicalVolumes = physicalVolumes;
        LogicalVolumes = logicalVolumes;
    }

    public string Name { get; }

    /// <summary>seqno: LVM increments it on every change; the highest copy is the current one.</summary>
    public long SequenceNumber { get; }

    /// <summary>extent_size, in 512-byte sectors.</summary>
    public long ExtentSectors { get; }

    public long ExtentBytes => ExtentSectors * LvmLabel.SectorSize;

    public IReadOnlyList<LvmPhysicalVolumeEntry> PhysicalVolumes { get; }

    public IReadOnlyList<LvmLogicalVolume> LogicalVolumes { get; }

    /// <summary>Parses and checks the metadata text of one metadata area.</summary>
    public static LvmVolumeGroup Parse(byte[] text) => FromConfig(LvmConfigParser.Parse(text));

    /// <summary>Reads the VG from a parsed text: its one top-level section.</summary>
    public static LvmVolumeGroup FromConfig(LvmConfigSection root)
    {
        if (root.Value("contents")?.Text is { } contents && contents != "Text Format Volume Group")
        {
            throw new DiskFormatException(Structure, "contents", contents, -1, "expected \"Text Format Volume Group\"");
        }
        if (root.Sections.Count != 1)
        {
            throw new DiskFormatException(Structure, "volume group", root.Sections.Count, -1, "expected exactly one top-level section");
        }
        var vg = root.Sections[0];
        long seqno = vg.Integer("seqno", 0, long.MaxValue);
        long extentSectors = vg.Integer("extent_size", 1, MaxExtentSectors);

        var pvSection = vg.Section("physical_volumes")
            ?? throw new DiskFormatException(Structure, $"{vg.Name}/physical_volumes", "(missing)", -1, "a VG needs its PVs");
        if (pvSection.Sections.Count > MaxPhysicalVolumes)
        {
            throw new DiskFormatException(Structure, "physical_volumes", pvSection.Sections.Count, -1, $"more than {MaxPhysicalVolumes}");
        }
        var pvs = pvSection.Sections
            .Select(pv => new LvmPhysicalVolumeEntry(pv.Name, pv.String("id"),
                pv.Integer("pe_start", 0, long.MaxValue / LvmLabel.SectorSize), pv.Integer("pe_count", 0, MaxExtents)))
            .ToList();

        var lvSection = vg.Section("logical_volumes");
        var lvs = new List<LvmLogicalVolume>();
        if (lvSection is not null)
        {
            if (lvSection.Sections.Count > MaxLogicalVolumes)
            {
                throw new DiskFormatException(Structure, "logical_volumes", lvSection.Sections.Count, -1, $"more than {MaxLogicalVolumes}");
            }
            var pvNames = pvs.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var lv in lvSection.Sections)
            {
                lvs.Add(ReadLogicalVolume(lv, pvNames));
            }
        }
        return new LvmVolumeGroup(vg.Name, seqno, extentSectors, pvs, lvs);
    }

    private static LvmLogicalVolume ReadLogicalVolume(LvmConfigSection lv, HashSet<string> pvNames)
    {
        long segmentCount = lv.Integer("segment_count", 1, MaxSegments);
        var segments = new List<LvmSegment>((int)segmentCount);
        long total = 0;
        for (int i = 1; i <= segmentCount; i++)
        {
            var section = lv.Section($"segment{i}")
                ?? throw new DiskFormatException(Structure, $"{lv.Name}/segment{i}", "(missing)", -1, $"segment_count is {segmentCount}");
            var segment = ReadSegment(section, pvNames);
            if (segment.StartExtent != total)
            {
                throw new DiskFormatException(Structure, $"{lv.Name}/segment{i}/start_extent", segment.StartExtent, -1,
                    $"the segments before it end at extent {total}");
            }
            total += segment.ExtentCount;
            if (total > MaxExtents)
            {
                throw new DiskFormatException(Structure, $"{lv.Name}/segment{i}/extent_count", segment.ExtentCount, -1,
                    $"the LV would have more than {MaxExtents} extents");
            }
            segments.Add(segment);
        }
        bool visible = lv.Strings("status").Contains("VISIBLE");
        return new LvmLogicalVolume(lv.Name, visible, segments);
    }

    private static LvmSegment ReadSegment(LvmConfigSection segment, HashSet<string> pvNames)
    {
        long start = segment.Integer("start_extent", 0, MaxExtents);
        long count = segment.Integer("extent_count", 1, MaxExtents);
        string type = segment.String("type");
        var references = new List<string>();
        var areas = new List<LvmSegmentArea>();
        foreach (var value in segment.Values.Values)
        {
            if (value.Text is { } text)
            {
                references.Add(text);
            }
            if (value.Items is not { } items)
            {
                continue;
            }
            for (int i = 0; i < items.Count; i++)
            {
                if (items[i].Text is not { } item)
                {
                    continue;
                }
                references.Add(item);
                if (pvNames.Contains(item) && i + 1 < items.Count && items[i + 1].Number is { } areaStart)
                {
                    if (areaStart < 0 || areaStart > MaxExtents)
                    {
                        throw new DiskFormatException(Structure, $"{segment.Name}/stripes", areaStart, -1, $"must be 0..{MaxExtents}");
                    }
                    areas.Add(new LvmSegmentArea(item, areaStart));
                }
            }
        }
        long stripeSectors = 0;
        if (type == "striped")
        {
            long stripeCount = segment.Integer("stripe_count", 1, MaxStripes);
            // Stripes are ("pvN", start extent) pairs; anything else in the array is not LVM's.
            var stripes = segment.Value("stripes")?.Items;
            if (stripes is null || stripes.Count != 2 * stripeCount || areas.Count != stripeCount)
            {
                throw new DiskFormatException(Structure, $"{segment.Name}/stripes", stripes?.Count ?? 0, -1,
                    $"expected {stripeCount} pairs of a listed PV and an extent");
            }
            if (count % stripeCount != 0)
            {
                throw new DiskFormatException(Structure, $"{segment.Name}/extent_count", count, -1,
                    $"not a multiple of its {stripeCount} stripes");
            }
            if (stripeCount > 1)
            {
                stripeSectors = segment.Integer("stripe_size", 1, MaxExtentSectors);
            }
        }
        return new LvmSegment(start, count, type, stripeSectors, areas, references);
    }
}
