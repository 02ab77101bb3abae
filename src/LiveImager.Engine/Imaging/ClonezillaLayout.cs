using System.Diagnostics;
using LiveImager.Engine.Targets;
using LiveImager.Formats;
using LiveImager.Formats.Clonezilla;
using LiveImager.Formats.FileSystems.Ntfs;
using LiveImager.Formats.FileSystems.Swap;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Partitions;

namespace LiveImager.Engine.Imaging;

/// <summary>Bytes a Clonezilla restore writes outside the partitions: the table, boot code, hidden data, EBRs, the
/// backup GPT.</summary>
internal sealed record ClonezillaTableWrite(long Offset, byte[] Bytes, string Kind);

/// <summary>A Clonezilla image's disk as a restore writes it: the source's partition table rebuilt from the image's
/// files, the bytes outside the partitions, each partition's image with its partclone header and bitmap already
/// checked, and the metadata our restore targets take (<see cref="ImageMetadata"/>, made up, never written).</summary>
/// <remarks>The table is rebuilt on a private sparse scratch file the size of the source disk and read back with the
/// same <see cref="PartitionTableReader"/> as a disk: GPT from <c>sda-gpt-1st</c> and <c>sda-gpt-2nd</c> (Clonezilla's
/// dd copies of the first 34 and last 33 sectors); MBR by <c>sfdisk</c> from <c>sda-pt.sf</c> (which writes the EBRs of
/// logical partitions, as Clonezilla's own restore does), then the boot code of <c>sda-mbr</c> and
/// <c>sda-hidden-data-after-mbr</c> over it.</remarks>
internal sealed class ClonezillaLayout
{
    private const int SectorSize = 512;
    private const int GptFirstBytes = 34 * SectorSize;
    private const int GptSecondBytes = 33 * SectorSize;
    private const int BootCodeBytes = 446;
    private const int MaxHiddenData = 64 << 20;

    private ClonezillaLayout(string directory, ClonezillaImage image, PartitionTable table, IReadOnlyList<ClonezillaTableWrite> writes,
        IReadOnlyDictionary<string, PartcloneHeader?> headers, IReadOnlyDictionary<string, long> ntfsBackups, ImageMetadata metadata, byte[] head)
    {
        NtfsBackups = ntfsBackups;
        Directory = directory;
        Image = image;
        Table = table;
        TableWrites = writes;
        Headers = headers;
        Metadata = metadata;
        Head = head;
    }

    public string Directory { get; }
    public ClonezillaImage Image { get; }
    public PartitionTable Table { get; }
    public IReadOnlyList<ClonezillaTableWrite> TableWrites { get; }

    /// <summary>Each partition image's partclone header, by device; null for a raw (dd) image.</summary>
    public IReadOnlyDictionary<string, PartcloneHeader?> Headers { get; }

    /// <summary>Per NTFS partition device, where in the partition its backup boot sector is rebuilt from the primary.</summary>
    /// <remarks>NTFS keeps a copy of its boot sector in the sector after the volume's last; partclone's bitmap never
    /// holds it (it lies outside every cluster), so Clonezilla's restore leaves whatever the disk had there and
    /// <c>ntfsfix -n</c> fails. Decided here, from the image's first block, so the data's size is known up front.</remarks>
    public IReadOnlyDictionary<string, long> NtfsBackups { get; }

    /// <summary>The source disk, table, partitions and regions as our restore targets and listings take them.</summary>
    public ImageMetadata Metadata { get; }

    /// <summary>The disk's first bytes as the restore writes them: the primary GPT for a relocation onto a larger disk.</summary>
    public byte[] Head { get; }

    public PartitionEntry Partition(int number) => Table.Partitions.First(p => p.Number == number);

    /// <summary>Reads the directory, rebuilds the table and checks every partition image's header and bitmap.</summary>
    /// <exception cref="DiskFormatException">The image is damaged, incomplete or of a kind this LiveImager does not restore.</exception>
    public static ClonezillaLayout Read(string directory)
    {
        ClonezillaImage image = ClonezillaInput.Open(directory);
        string? ptSf = image.DiskFile("pt.sf");
        SfdiskDump? dump = ptSf is null ? null
            : SfdiskDump.Parse(System.Text.Encoding.UTF8.GetString(ClonezillaInput.ReadSmall(directory, ptSf, ClonezillaImage.MaxTextFile)), ptSf);
        bool gpt = dump?.Label == "gpt" || (dump is null && image.DiskFile("gpt-1st") is not null);
        DirectoryInfo scratch = System.IO.Directory.CreateTempSubdirectory("liveimager-clonezilla-");
        try
        {
            string disk = Path.Combine(scratch.FullName, "disk");
            PartitionTable table;
            List<ClonezillaTableWrite> writes;
            byte[] head;
            // The scratch directory is private (0700), and the file new in it.
            (writes, head) = gpt ? WriteGpt(directory, image, disk) : WriteMbr(directory, image, dump, disk);
            using (var file = new FileStream(disk, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0))
            {
                table = PartitionTableReader.Read(new StreamBlockSource(file), SectorSize);
                foreach (DiskRegion region in table.Regions.Where(r => r.Kind == DiskRegionKind.PartitionTable && r.StartBytes >= head.Length))
                {
                    // An MBR's EBRs, which sfdisk placed: read back from the scratch disk.
                    var bytes = new byte[region.SizeBytes];
                    file.Position = region.StartBytes;
                    file.ReadExactly(bytes);
                    writes.Add(new ClonezillaTableWrite(region.StartBytes, bytes, "EBR"));
                }
            }
            var ntfsBackups = new Dictionary<string, long>();
            var headers = CheckPartitions(directory, image, table, ntfsBackups);
            return new ClonezillaLayout(directory, image, table, [.. writes.OrderBy(w => w.Offset)], headers, ntfsBackups,
                MakeMetadata(directory, image, table, writes, headers, ntfsBackups), head);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static (List<ClonezillaTableWrite>, byte[]) WriteGpt(string directory, ClonezillaImage image, string path)
    {
        string first = image.DiskFile("gpt-1st") ?? throw new DiskFormatException("Clonezilla image",
            $"the disk {image.Disk} has a GPT but the image has no {image.Disk}-gpt-1st (the primary GPT); it cannot be restored from {image.Disk}-gpt.sgdisk alone");
        string second = image.DiskFile("gpt-2nd") ?? throw new DiskFormatException("Clonezilla image",
            $"the image has no {image.Disk}-gpt-2nd (the backup GPT)");
        byte[] primary = ClonezillaInput.ReadSmall(directory, first, GptFirstBytes);
        byte[] backup = ClonezillaInput.ReadSmall(directory, second, GptSecondBytes);
        if (primary.Length != GptFirstBytes || backup.Length != GptSecondBytes)
        {
            throw new DiskFormatException("Clonezilla image", $"{first} is {primary.Length} bytes and {second} {backup.Length}; " +
                $"Clonezilla saves {GptFirstBytes} and {GptSecondBytes} (34 and 33 sectors)");
        }
        ulong alternate = GptHeader.Parse(primary.AsSpan(SectorSize, SectorSize)).AlternateLba;
        if (alternate < 67 || alternate > (ulong)(long.MaxValue / SectorSize - 1))
        {
            throw new DiskFormatException($"{first} GPT header", "AlternateLBA", alternate, SectorSize + 0x20, "is not the last sector of a disk");
        }
        long diskBytes = ((long)alternate + 1) * SectorSize;
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        file.SetLength(diskBytes);
        file.Position = 0;
        file.Write(primary);
        file.Position = diskBytes - GptSecondBytes;
        file.Write(backup);
        return ([new(0, primary, "primary GPT"), new(diskBytes - GptSecondBytes, backup, "backup GPT")], primary);
    }

    private static (List<ClonezillaTableWrite>, byte[]) WriteMbr(string directory, ClonezillaImage image, SfdiskDump? dump, string path)
    {
        if (dump is null)
        {
            throw new DiskFormatException("Clonezilla image", $"the image has no {image.Disk}-pt.sf (the partition table)");
        }
        string mbrFile = image.DiskFile("mbr") ?? throw new DiskFormatException("Clonezilla image", $"the image has no {image.Disk}-mbr");
        byte[] mbr = ClonezillaInput.ReadSmall(directory, mbrFile, SectorSize);
        long firstStart = dump.Partitions.Select(p => p.StartSector * SectorSize).DefaultIfEmpty(SectorSize).Min();
        byte[] hidden = image.DiskFile("hidden-data-after-mbr") is { } hiddenFile
            ? ClonezillaInput.ReadSmall(directory, hiddenFile, MaxHiddenData) : [];
        if (SectorSize + hidden.Length > firstStart)
        {
            throw new DiskFormatException("Clonezilla image", $"{image.Disk}-hidden-data-after-mbr is {hidden.Length} bytes; " +
                $"it would reach past the first partition at byte {firstStart}");
        }
        using (var created = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            created.SetLength(Math.Max(dump.EndBytes, SectorSize + hidden.Length));
        }
        RunSfdisk(path, System.Text.Encoding.UTF8.GetString(ClonezillaInput.ReadSmall(directory, image.DiskFile("pt.sf")!, ClonezillaImage.MaxTextFile)));
        var sector = new byte[SectorSize];
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.ReadExactly(sector);
        // The boot code, as Clonezilla restores it; the table and disk signature are sfdisk's, from the same dump.
        mbr.AsSpan(0, Math.Min(BootCodeBytes, mbr.Length)).CopyTo(sector);
        file.Position = 0;
        file.Write(sector);
        file.Write(hidden);
        byte[] head = [.. sector, .. hidden];
        return ([new(0, head, hidden.Length > 0 ? "MBR and hidden data after it" : "MBR")], head);
    }

    /// <summary>Writes the dump's table onto the scratch disk with sfdisk, which lays out the EBRs as Clonezilla's
    /// restore does.</summary>
    private static void RunSfdisk(string disk, string dump)
    {
        string program = StoreTools.Find("sfdisk") ?? throw new ImagingException("sfdisk is not installed (apt-get install fdisk); it writes an MBR image's table");
        ProcessStartInfo info = StoreTools.PipedStart(program, (string[])["--quiet", "--no-reread", "--no-tell-kernel", disk]);
        using Process process = Process.Start(info) ?? throw new ImagingException($"cannot start {program}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(dump);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new ImagingException("sfdisk did not finish writing the image's table in 60 s");
        }
        if (process.ExitCode != 0)
        {
            throw new DiskFormatException("Clonezilla image's pt.sf", $"sfdisk refused it: {error.Result.Trim()} {output.Result.Trim()}");
        }
    }

    /// <summary>Each partition image's header and bitmap, read and checked now (only the stream's start is decoded), so
    /// a damaged header or bitmap or a partition the image does not fit stops the restore before any write.</summary>
    private static Dictionary<string, PartcloneHeader?> CheckPartitions(string directory, ClonezillaImage image, PartitionTable table,
        Dictionary<string, long> ntfsBackups)
    {
        var headers = new Dictionary<string, PartcloneHeader?>();
        foreach (ClonezillaPartitionImage partition in image.Images)
        {
            PartitionEntry entry = EntryOf(table, partition.Device, partition.Number);
            if (partition.IsRaw)
            {
                headers[partition.Device] = null;
                continue;
            }
            using Stream stream = ClonezillaInput.OpenPartition(directory, partition);
            PartcloneReader reader = ClonezillaInput.Guard(partition, () => new PartcloneReader(stream, partition.Describe()));
            PartcloneHeader header = reader.Header;
            if (header.TotalBlocks * header.BlockSize > entry.SizeBytes)
            {
                throw new DiskFormatException($"partclone header of {partition.Describe()}", "totalblock", header.TotalBlocks, 0x3C,
                    $"{header.TotalBlocks} blocks of {header.BlockSize} bytes do not fit in partition {entry.Number} ({entry.SizeBytes} bytes)");
            }
            headers[partition.Device] = header;
            if (partition.FileSystem == "ntfs" && reader.IsUsed(0) && NtfsBackupOffset(partition, entry, reader) is long backup)
            {
                ntfsBackups[partition.Device] = backup;
            }
        }
        foreach (ClonezillaSwap swap in image.Swaps)
        {
            PartitionEntry entry = EntryOf(table, swap.Device, swap.Number);
            // Checked now: a partition too small for a swap area refuses the restore before it starts.
            SwapHeader.Build(new byte[SwapHeader.MinPageSize], entry.SizeBytes, Guid.Empty, swap.Label);
        }
        return headers;
    }

    /// <summary>Where the NTFS volume's backup boot sector goes, from its first block, or null (logged) when the boot
    /// sector does not say a place inside the partition.</summary>
    private static long? NtfsBackupOffset(ClonezillaPartitionImage partition, PartitionEntry entry, PartcloneReader reader)
    {
        var block = new byte[reader.Header.BlockSize];
        ClonezillaInput.Guard(partition, () => reader.ReadRun(block, out _));
        string? problem = null;
        long backup = -1;
        if (!NtfsBootSector.HasSignature(block))
        {
            problem = "the first block holds no NTFS boot sector";
        }
        else
        {
            try
            {
                NtfsBootSector boot = NtfsBootSector.Parse(block);
                backup = boot.TotalSectors * boot.BytesPerSector;
                if (boot.BytesPerSector != NtfsBootSector.Size || backup <= 0 || backup > entry.SizeBytes - NtfsBootSector.Size)
                {
                    problem = $"its backup boot sector at byte {backup} is not inside the {entry.SizeBytes}-byte partition";
                }
            }
            catch (DiskFormatException e)
            {
                problem = e.Message;
            }
        }
        if (problem is not null)
        {
            Serilog.Log.Warning("Clonezilla image: {Partition}: the NTFS backup boot sector is not rebuilt: {Problem}", partition.Describe(), problem);
            return null;
        }
        return backup;
    }

    private static PartitionEntry EntryOf(PartitionTable table, string device, int number) =>
        table.Partitions.FirstOrDefault(p => p.Number == number)
        ?? throw new DiskFormatException("Clonezilla image", $"{device} has an image but the image's partition table has no partition {number}");

    private static ImageMetadata MakeMetadata(string directory, ClonezillaImage image, PartitionTable table, List<ClonezillaTableWrite> writes,
        Dictionary<string, PartcloneHeader?> headers, Dictionary<string, long> ntfsBackups)
    {
        var partitions = new List<PartitionInfo>();
        long data = writes.Sum(w => (long)w.Bytes.Length) + ntfsBackups.Count * (long)NtfsBootSector.Size;
        foreach (PartitionEntry entry in table.Partitions)
        {
            ClonezillaPartitionImage? partition = image.Images.FirstOrDefault(p => p.Number == entry.Number);
            ClonezillaSwap? swap = image.Swaps.FirstOrDefault(s => s.Number == entry.Number);
            PartcloneHeader? header = partition is null ? null : headers[partition.Device];
            long used = header is not null ? header.UsedBlocks * header.BlockSize : partition is not null ? entry.SizeBytes : swap is not null ? SwapHeader.MinPageSize : 0;
            data += used;
            partitions.Add(new PartitionInfo
            {
                Number = entry.Number,
                StartBytes = entry.StartBytes,
                SizeBytes = entry.SizeBytes,
                Type = entry.Type,
                Name = entry.Name,
                PartitionUuid = entry.Uuid,
                Filesystem = swap is not null ? "swap" : partition?.FileSystem ?? "none",
                Uuid = swap?.Uuid,
                Label = swap?.Label,
                BlockSize = header?.BlockSize ?? SectorSize,
                BlockCount = header?.TotalBlocks ?? entry.SizeBytes / SectorSize,
                UsedBlocks = header?.UsedBlocks ?? used / SectorSize,
                Method = header is not null ? $"partclone {header.PartcloneVersion} bitmap ({string.Join(", ", partition!.Pieces)})"
                    : partition is not null ? $"raw copy ({string.Join(", ", partition.Pieces)})"
                    : swap is not null ? "swap recreated from its UUID and label" : "not in the image",
            });
        }
        var regions = writes.Select(w => new RegionInfo
        {
            Kind = w.Kind == "backup GPT" ? RegionKinds.GptBackup : RegionKinds.PartitionTable,
            StartBytes = w.Offset,
            SizeBytes = w.Bytes.Length,
        }).ToList();
        return new ImageMetadata
        {
            Tool = "Clonezilla",
            CreatedUtc = File.GetLastWriteTimeUtc(Path.Combine(directory, "disk")),
            Source = new SourceDisk { Path = $"/dev/{image.Disk.Replace('-', '/')}", SizeBytes = table.DiskBytes, LogicalSectorSize = SectorSize, PhysicalSectorSize = SectorSize },
            Table = new TableInfo { Kind = table.Kind == PartitionTableKind.Gpt ? "gpt" : "mbr", SectorSize = SectorSize, DiskBytes = table.DiskBytes, Warnings = table.Warnings },
            Partitions = partitions,
            Regions = regions,
            DataBytes = data,
        };
    }
}
