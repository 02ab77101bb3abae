namespace LiveImager.Formats.FileSystems.Ntfs;

/// <summary>A non-resident attribute's mapping pairs (data runs), decoded into extents of clusters and checked.</summary>
/// <remarks>Each run is a header byte (low nibble: bytes of the length, high nibble: bytes of the LCN delta), the
/// length, and the LCN as a signed delta from the previous run's; a 0 header ends the list (ntfs-3g runlist.c).</remarks>
public sealed class NtfsRunList
{
    private readonly List<NtfsExtent> _extents;

    private NtfsRunList(List<NtfsExtent> extents, long firstVcn, long clusterCount)
    {
        _extents = extents;
        FirstVcn = firstVcn;
        ClusterCount = clusterCount;
    }

    /// <summary>The extents in VCN order.</summary>
    public IReadOnlyList<NtfsExtent> Extents => _extents;

    /// <summary>The first VCN the list maps (lowest_vcn).</summary>
    public long FirstVcn { get; }

    /// <summary>Clusters the list maps, from <see cref="FirstVcn"/>.</summary>
    public long ClusterCount { get; }

    /// <summary>Decodes and checks <paramref name="data"/>'s runs against a volume of <paramref name="volumeClusters"/>
    /// clusters: every run inside the volume, none sparse, none overlapping another, and together exactly
    /// lowest_vcn..highest_vcn.</summary>
    /// <remarks>The loop is bounded by the attribute's bytes (at most a record), each run taking at least two.</remarks>
    public static NtfsRunList Decode(NtfsNonResidentData data, long volumeClusters)
    {
        string structure = $"{data.Structure} data runs";
        if (data.LowestVcn < 0 || data.HighestVcn < data.LowestVcn - 1 || data.HighestVcn >= volumeClusters)
        {
            throw new DiskFormatException(data.Structure, "lowest_vcn/highest_vcn", $"{data.LowestVcn}/{data.HighestVcn}",
                data.DiskOffset + NtfsAttribute.LowestVcnOffset, $"must be 0 <= lowest <= highest + 1 and highest < {volumeClusters}");
        }
        long expected = data.HighestVcn - data.LowestVcn + 1;
        var pairs = data.MappingPairs;
        var extents = new List<NtfsExtent>();
        long vcn = data.LowestVcn;
        long lcn = 0;
        int position = 0;
        while (true)
        {
            if (position >= pairs.Length)
            {
                throw new DiskFormatException(structure, "run header", "none", data.MappingPairsDiskOffset + position,
                    "the run list reaches the end of the attribute without its 0 terminator");
            }
            byte header = pairs[position];
            if (header == 0)
            {
                break;
            }
            long runOffset = data.MappingPairsDiskOffset + position;
            int lengthBytes = header & 0x0F;
            int lcnBytes = header >> 4;
            if (lengthBytes is 0 or > 8 || lcnBytes > 8 || position + 1 + lengthBytes + lcnBytes > pairs.Length)
            {
                throw new DiskFormatException(structure, "run header", $"0x{header:X2}", runOffset,
                    "field sizes must be 1..8 bytes for the length and 0..8 for the LCN, inside the attribute");
            }
            if (lcnBytes == 0)
            {
                throw new DiskFormatException(structure, "run header", $"0x{header:X2}", runOffset,
                    "a sparse run has no clusters on disk; a system file's data must have them");
            }
            long length = ReadSigned(pairs.AsSpan(position + 1, lengthBytes));
            long delta = ReadSigned(pairs.AsSpan(position + 1 + lengthBytes, lcnBytes));
            lcn += delta;
            if (length <= 0 || length > volumeClusters)
            {
                throw new DiskFormatException(structure, "run length", length, runOffset,
                    $"must be 1..{volumeClusters} clusters");
            }
            if (lcn < 0 || lcn > volumeClusters - length)
            {
                throw new DiskFormatException(structure, "run LCN", lcn, runOffset,
                    $"a run of {length} clusters there lies outside the volume's {volumeClusters} clusters");
            }
            if (vcn - data.LowestVcn > expected - length)
            {
                throw new DiskFormatException(structure, "run length", length, runOffset,
                    $"the runs map more than the {expected} clusters of lowest_vcn..highest_vcn");
            }
            extents.Add(new NtfsExtent(vcn, lcn, length));
            vcn += length;
            position += 1 + lengthBytes + lcnBytes;
        }
        if (vcn - data.LowestVcn != expected)
        {
            throw new DiskFormatException(structure, "runs", vcn - data.LowestVcn, data.MappingPairsDiskOffset,
                $"map {vcn - data.LowestVcn} clusters; lowest_vcn..highest_vcn needs {expected}");
        }
        CheckNoOverlap(extents, structure, data.MappingPairsDiskOffset);
        return new NtfsRunList(extents, data.LowestVcn, expected);
    }

    /// <summary>Fills <paramref name="destination"/> with the data at byte <paramref name="offset"/> of the attribute,
    /// which must lie within the clusters this list maps.</summary>
    public void Read(IBlockSource volume, int clusterSize, long offset, Span<byte> destination, string structure)
    {
        long start = FirstVcn * clusterSize;
        if (offset < start || destination.Length > (start + ClusterCount * clusterSize) - offset)
        {
            throw new DiskFormatException(structure, "data offset", offset, -1,
                $"{destination.Length} bytes there lie outside the {ClusterCount} clusters the run list maps from VCN {FirstVcn}");
        }
        int done = 0;
        foreach (var extent in _extents)
        {
            long extentStart = extent.Vcn * clusterSize;
            long extentEnd = extentStart + extent.Length * clusterSize;
            long position = offset + done;
            if (done == destination.Length)
            {
                break;
            }
            if (position >= extentEnd)
            {
                continue;
            }
            int chunk = (int)Math.Min(destination.Length - done, extentEnd - position);
            volume.ReadAt(extent.Lcn * clusterSize + (position - extentStart), destination.Slice(done, chunk));
            done += chunk;
        }
    }

    /// <summary>Where byte <paramref name="offset"/> of the attribute lies on disk, or -1 when this list does not map it.</summary>
    public long DiskOffset(long offset, int clusterSize)
    {
        foreach (var extent in _extents)
        {
            long extentStart = extent.Vcn * clusterSize;
            if (offset >= extentStart && offset < extentStart + extent.Length * clusterSize)
            {
                return extent.Lcn * clusterSize + (offset - extentStart);
            }
        }
        return -1;
    }

    private static long ReadSigned(ReadOnlySpan<byte> bytes)
    {
        long value = (sbyte)bytes[^1];
        for (int i = bytes.Length - 2; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }
        return value;
    }

    private static void CheckNoOverlap(List<NtfsExtent> extents, string structure, long offset)
    {
        var byLcn = extents.OrderBy(e => e.Lcn).ToList();
        for (int i = 1; i < byLcn.Count; i++)
        {
            if (byLcn[i].Lcn < byLcn[i - 1].Lcn + byLcn[i - 1].Length)
            {
                throw new DiskFormatException(structure, "run LCN", byLcn[i].Lcn, offset,
                    $"overlaps the run at LCN {byLcn[i - 1].Lcn} of {byLcn[i - 1].Length} clusters (a loop)");
            }
        }
    }
}

/// <summary>A run of <paramref name="Length"/> clusters of an attribute, from VCN <paramref name="Vcn"/>, stored at LCN <paramref name="Lcn"/>.</summary>
public readonly record struct NtfsExtent(long Vcn, long Lcn, long Length);
