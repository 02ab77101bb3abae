using System.Globalization;

namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>LVM2 physical volumes: the VG's text metadata says which extents belong to which LV; each linear or
/// striped LV that lies wholly on this PV is mapped by the filesystem inside it, in PV coordinates.</summary>
/// <remarks>The label, the metadata areas and everything outside the data area stay used. Extents of no LV are free.
/// An LV is copied whole (its extents on this PV all used) when LVM builds it from other LVs or targets this code does
/// not model (thin, RAID, mirror, cache, snapshot), when it is one of those internal LVs, when part of it lies on
/// another PV (each PV is analysed alone), or when it holds another PV. Metadata that fails its checksum or does not
/// parse makes the whole PV a whole copy.</remarks>
public sealed class LvmModule : IFileSystemModule
{
    /// <summary>Largest metadata text read: LVM's default metadata area is 1 MiB and a VG of thousands of LVs stays
    /// far below this.</summary>
    public const int MaxTextBytes = 32 << 20;

    /// <summary>The map's preferred block size: a divisor of every extent size LVM makes and of most filesystems'.</summary>
    private const int PreferredBlockSize = 4096;

    private const int MaxMetadataAreas = 8;

    private const long MinStripeBytes = 4096;

    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        LvmLabel.FindSector(head) >= 0 ? FileSystemKind.LvmPhysicalVolume : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var label = ReadLabel(partition);
        var warnings = new List<string>();
        if (label.MetadataAreas.Count == 0)
        {
            return FileSystemAnalysis.WholeCopy(FileSystemKind.LvmPhysicalVolume, partition.Length,
                "LVM2 physical volume without a metadata area (its VG is described on another PV)", uuid: label.Uuid);
        }
        var vg = ReadNewestMetadata(partition, label, warnings, out bool ignored);
        if (vg is null)
        {
            return FileSystemAnalysis.WholeCopy(FileSystemKind.LvmPhysicalVolume, partition.Length,
                ignored ? "LVM2 physical volume whose metadata areas are ignored (its VG is described on another PV)"
                    : "LVM2 physical volume in no volume group", uuid: label.Uuid, warnings: warnings);
        }
        var pv = vg.PhysicalVolumes.FirstOrDefault(p => SameUuid(p.Id, label.Uuid!))
            ?? throw new DiskFormatException("LVM2 metadata text", $"{vg.Name}/physical_volumes", label.Uuid, -1,
                "the VG's metadata does not list this PV");
        return new PhysicalVolumeMapper(partition, label, vg, pv, warnings).Map();
    }

    private static LvmLabel ReadLabel(IBlockSource partition)
    {
        var head = new byte[(int)Math.Min(LvmLabel.ScanSectors * LvmLabel.SectorSize, partition.Length)];
        partition.ReadAt(0, head);
        int sector = LvmLabel.FindSector(head);
        if (sector < 0)
        {
            throw new DiskFormatException("LVM2 label", "id", "none", 0,
                $"no LABELONE/LVM2 001 label in the first {LvmLabel.ScanSectors} sectors");
        }
        var label = LvmLabel.Parse(head.AsSpan(sector * LvmLabel.SectorSize, LvmLabel.SectorSize), sector);
        label.Validate();
        if (label.MetadataAreas.Count > MaxMetadataAreas)
        {
            throw new DiskFormatException("LVM2 pv_header", "metadata areas", label.MetadataAreas.Count, -1, $"more than {MaxMetadataAreas}");
        }
        return label;
    }

    /// <summary>The VG from the metadata area with the highest seqno; null when every area is empty (an orphan PV).
    /// An area that fails its checks is skipped with a warning while another one holds good metadata.</summary>
    private static LvmVolumeGroup? ReadNewestMetadata(IBlockSource partition, LvmLabel label, List<string> warnings, out bool ignored)
    {
        ignored = false;
        LvmVolumeGroup? newest = null;
        DiskFormatException? firstError = null;
        var sequenceNumbers = new List<long>();
        foreach (var area in label.MetadataAreas)
        {
            try
            {
                var vg = ReadMetadataArea(partition, area, out bool areaIgnored);
                ignored |= areaIgnored;
                if (vg is null)
                {
                    continue;
                }
                sequenceNumbers.Add(vg.SequenceNumber);
                if (newest is null || vg.SequenceNumber > newest.SequenceNumber)
                {
                    newest = vg;
                }
            }
            catch (DiskFormatException e)
            {
                firstError ??= e;
                warnings.Add($"metadata area at byte {area.Offset} skipped: {e.Message}");
            }
        }
        if (newest is null && firstError is not null)
        {
            throw firstError;
        }
        if (sequenceNumbers.Distinct().Count() > 1)
        {
            warnings.Add($"metadata areas hold seqno {string.Join(", ", sequenceNumbers)}; the newest, {newest!.SequenceNumber}, is used");
        }
        return newest;
    }

    private static LvmVolumeGroup? ReadMetadataArea(IBlockSource partition, LvmDiskLocation area, out bool ignored)
    {
        ignored = false;
        if (area.Size < LvmMetadataAreaHeader.Length || area.Offset > (ulong)partition.Length
            || area.Size > (ulong)partition.Length - area.Offset)
        {
            throw new DiskFormatException("LVM2 pv_header", "metadata area", $"{area.Offset}+{area.Size}", -1,
                $"does not fit in the {partition.Length}-byte PV");
        }
        var headerBytes = new byte[LvmMetadataAreaHeader.Length];
        partition.ReadAt((long)area.Offset, headerBytes);
        var header = LvmMetadataAreaHeader.Parse(headerBytes, (long)area.Offset);
        header.Validate(area.Size, MaxTextBytes);
        ignored = header.IsIgnored;
        if (header.IsEmpty || header.IsIgnored)
        {
            return null;
        }
        var text = new byte[header.TextSize];
        int done = 0;
        uint checksum = LvmChecksum.Initial;
        foreach (var (offset, length) in header.TextPieces())
        {
            var piece = text.AsSpan(done, length);
            partition.ReadAt((long)area.Offset + offset, piece);
            checksum = LvmChecksum.Compute(piece, checksum);
            done += length;
        }
        if (checksum != header.TextChecksum)
        {
            throw new DiskFormatException("LVM2 metadata area header", "raw_locn checksum", $"0x{header.TextChecksum:x8}",
                (long)area.Offset + 0x38, $"the metadata text's checksum is 0x{checksum:x8}");
        }
        return LvmVolumeGroup.Parse(text);
    }

    private static bool SameUuid(string a, string b) =>
        string.Equals(a.Replace("-", string.Empty, StringComparison.Ordinal), b.Replace("-", string.Empty, StringComparison.Ordinal),
            StringComparison.Ordinal);

    /// <summary>Builds one PV's map from its VG: the state of one analysis.</summary>
    private sealed class PhysicalVolumeMapper(IBlockSource partition, LvmLabel label, LvmVolumeGroup vg,
        LvmPhysicalVolumeEntry pv, List<string> warnings)
    {
        private readonly long _extentBytes = vg.ExtentBytes;
        private long _dataStart;
        private UsedBlockMap _map = null!;

        public FileSystemAnalysis Map()
        {
            _dataStart = pv.PeStart * LvmLabel.SectorSize;
            if (_dataStart > partition.Length || pv.PeCount > (partition.Length - _dataStart) / _extentBytes)
            {
                throw new DiskFormatException("LVM2 metadata text", $"{pv.Name}/pe_count", pv.PeCount, -1,
                    $"{pv.PeCount} extents of {_extentBytes} bytes from sector {pv.PeStart} do not fit in the {partition.Length}-byte PV");
            }
            int blockSize = ChooseBlockSize();
            _map = new UsedBlockMap(partition.Length / blockSize, blockSize);
            // Every extent of the data area is free until an LV claims it; the label, metadata areas, and anything
            // before pe_start or past the last extent stay used.
            _map.MarkFree(_dataStart / blockSize, Math.Min(pv.PeCount * _extentBytes / blockSize, _map.BlockCount - _dataStart / blockSize));

            var owners = ReferencingLogicalVolumes();
            var volumes = new List<LogicalVolumeAnalysis>();
            int mapped = 0;
            foreach (var lv in vg.LogicalVolumes)
            {
                var volume = MapLogicalVolume(lv, owners);
                if (volume.WholeCopyReason is null)
                {
                    mapped++;
                }
                else if (volume.UsedBytes > 0)
                {
                    warnings.Add($"LV {lv.Name} copied whole: {volume.WholeCopyReason}");
                }
                volumes.Add(volume);
            }
            string method = string.Create(CultureInfo.InvariantCulture,
                $"LVM2 metadata of VG {vg.Name} (seqno {vg.SequenceNumber}): {vg.LogicalVolumes.Count} LVs, {mapped} mapped by their filesystems");
            return new FileSystemAnalysis(FileSystemKind.LvmPhysicalVolume, vg.Name, label.Uuid, _map, method, warnings)
            {
                LogicalVolumes = volumes,
            };
        }

        /// <summary>The largest power of two up to 4096 dividing both pe_start and the extent size, so extents map to
        /// whole blocks; larger only when the PV would need more blocks than a map holds.</summary>
        private int ChooseBlockSize()
        {
            int size = PreferredBlockSize;
            while (size > LvmLabel.SectorSize && (_dataStart % size != 0 || _extentBytes % size != 0))
            {
                size /= 2;
            }
            while (partition.Length / size > UsedBlockMap.MaxBlocks && _dataStart % (2L * size) == 0
                && _extentBytes % (2L * size) == 0 && size < 1 << 30)
            {
                size *= 2;
            }
            return size;
        }

        /// <summary>For each LV another LV is built from (a thin pool's data and metadata, RAID images, a snapshot's
        /// origin and COW store), the LV and segment type that use it.</summary>
        private Dictionary<string, string> ReferencingLogicalVolumes()
        {
            var names = vg.LogicalVolumes.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
            var owners = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var lv in vg.LogicalVolumes)
            {
                foreach (var segment in lv.Segments.Where(s => !s.IsStriped))
                {
                    foreach (string reference in segment.References.Where(r => r != lv.Name && names.Contains(r)))
                    {
                        owners.TryAdd(reference, $"part of LV {lv.Name} ({segment.Type})");
                    }
                }
            }
            return owners;
        }

        private LogicalVolumeAnalysis MapLogicalVolume(LvmLogicalVolume lv, Dictionary<string, string> owners)
        {
            if (lv.ExtentCount > long.MaxValue / _extentBytes)
            {
                throw new DiskFormatException("LVM2 metadata text", $"{lv.Name}/segment_count", lv.Segments.Count, -1,
                    "the LV's size overflows 64 bits");
            }
            long sizeBytes = lv.ExtentCount * _extentBytes;
            var segments = lv.Segments.Select(Describe).ToList();
            string? reason = WholeCopyReason(lv, owners);
            if (reason is not null)
            {
                return new LogicalVolumeAnalysis(lv.Name, sizeBytes, segments, FileSystemKind.Unknown, MarkAreasUsed(lv), reason);
            }
            var source = new LvmLogicalVolumeSource(partition, lv.Segments.Select(Piece).ToList());
            var head = new byte[(int)Math.Min(FileSystemDetector.HeadBytes, source.Length)];
            source.ReadAt(0, head);
            if (LvmLabel.FindSector(head) >= 0)
            {
                // Mapping it would recurse without bound through nested PVs.
                return new LogicalVolumeAnalysis(lv.Name, sizeBytes, segments, FileSystemKind.LvmPhysicalVolume,
                    MarkAreasUsed(lv), "holds another LVM2 physical volume");
            }
            var inner = FileSystemDetector.Analyze(source);
            warnings.AddRange(inner.Warnings.Select(w => $"LV {lv.Name}: {w}"));
            if (inner.IsWholeCopy)
            {
                return new LogicalVolumeAnalysis(lv.Name, sizeBytes, segments, inner.Kind, MarkAreasUsed(lv),
                    inner.Method[FileSystemAnalysis.WholeCopyPrefix.Length..]);
            }
            long used = 0;
            foreach (var (offset, length) in inner.UsedByteRuns(source.Length))
            {
                used += length;
                foreach (var (pvOffset, pvLength) in source.MapRange(offset, length))
                {
                    MarkBytesUsed(pvOffset, pvLength);
                }
            }
            return new LogicalVolumeAnalysis(lv.Name, sizeBytes, segments, inner.Kind, used, null);
        }

        /// <summary>Why <paramref name="lv"/> cannot be mapped through its filesystem, or null; throws when its
        /// extents on this PV lie past the PV's last extent.</summary>
        private string? WholeCopyReason(LvmLogicalVolume lv, Dictionary<string, string> owners)
        {
            foreach (var segment in lv.Segments)
            {
                foreach (var area in segment.Areas.Where(a => a.PhysicalVolume == pv.Name))
                {
                    if (area.StartExtent > pv.PeCount || segment.AreaExtents > pv.PeCount - area.StartExtent)
                    {
                        throw new DiskFormatException("LVM2 metadata text", $"{lv.Name}/stripes", area.StartExtent, -1,
                            $"{segment.AreaExtents} extents from extent {area.StartExtent} pass the PV's {pv.PeCount} extents");
                    }
                }
            }
            if (lv.Segments.FirstOrDefault(s => !s.IsStriped) is { } complex)
            {
                return $"{complex.Type} segment (only linear and striped LVs are mapped)";
            }
            if (owners.TryGetValue(lv.Name, out string? owner))
            {
                return owner;
            }
            if (!lv.Visible)
            {
                return "hidden LV (an internal part of another LV)";
            }
            if (lv.Segments.SelectMany(s => s.Areas).FirstOrDefault(a => a.PhysicalVolume != pv.Name) is { } elsewhere)
            {
                return $"lies partly on {elsewhere.PhysicalVolume}, another PV (each PV is mapped alone)";
            }
            foreach (var segment in lv.Segments.Where(s => s.Areas.Count > 1))
            {
                long areaBytes = segment.AreaExtents * _extentBytes;
                long stripeBytes = segment.StripeSectors * LvmLabel.SectorSize;
                // LVM's own rule (a power of two of at least a page); it also bounds the chunks a read is split into.
                if (stripeBytes < MinStripeBytes || !long.IsPow2(stripeBytes))
                {
                    return $"stripe size {stripeBytes} is not a power of two of at least {MinStripeBytes}";
                }
                if (areaBytes % stripeBytes != 0)
                {
                    return $"stripe size {stripeBytes} does not divide the stripes' {areaBytes} bytes";
                }
            }
            return null;
        }

        private LvmLogicalVolumeSource.Piece Piece(LvmSegment segment)
        {
            long areaBytes = segment.AreaExtents * _extentBytes;
            long stripeBytes = segment.Areas.Count > 1 ? segment.StripeSectors * LvmLabel.SectorSize : areaBytes;
            return new LvmLogicalVolumeSource.Piece(segment.StartExtent * _extentBytes, segment.ExtentCount * _extentBytes,
                stripeBytes, [.. segment.Areas.Select(a => _dataStart + a.StartExtent * _extentBytes)]);
        }

        /// <summary>Marks every extent <paramref name="lv"/> holds on this PV used; returns the bytes they cover.</summary>
        private long MarkAreasUsed(LvmLogicalVolume lv)
        {
            long used = 0;
            foreach (var segment in lv.Segments)
            {
                foreach (var area in segment.Areas.Where(a => a.PhysicalVolume == pv.Name))
                {
                    long bytes = segment.AreaExtents * _extentBytes;
                    MarkBytesUsed(_dataStart + area.StartExtent * _extentBytes, bytes);
                    used += bytes;
                }
            }
            return used;
        }

        private void MarkBytesUsed(long offset, long length)
        {
            long first = offset / _map.BlockSize;
            long end = Math.Min((offset + length + _map.BlockSize - 1) / _map.BlockSize, _map.BlockCount);
            if (end > first)
            {
                _map.MarkUsed(first, end - first);
            }
        }

        private string Describe(LvmSegment segment)
        {
            string extents = segment.ExtentCount == 1
                ? $"{segment.StartExtent}"
                : $"{segment.StartExtent}-{segment.StartExtent + segment.ExtentCount - 1}";
            string type = segment.IsStriped
                ? segment.Areas.Count == 1 ? "linear" : $"striped {segment.Areas.Count}x{segment.StripeSectors * LvmLabel.SectorSize / 1024}KiB"
                : segment.Type;
            string areas = string.Join(' ', segment.Areas.Select(a => segment.AreaExtents == 1
                ? $"{a.PhysicalVolume}:{a.StartExtent}"
                : $"{a.PhysicalVolume}:{a.StartExtent}-{a.StartExtent + segment.AreaExtents - 1}"));
            return string.Create(CultureInfo.InvariantCulture, $"extents {extents}: {type}{(areas.Length > 0 ? " " + areas : string.Empty)}");
        }
    }
}
