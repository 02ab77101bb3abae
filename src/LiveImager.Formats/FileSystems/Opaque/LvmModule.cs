namespace LiveImager.Formats.FileSystems.Opaque;

/// <summary>LVM2 physical volumes: named, and copied whole, since the logical volumes inside are not mapped here.</summary>
public sealed class LvmModule : IFileSystemModule
{
    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        LvmLabel.FindSector(head) >= 0 ? FileSystemKind.LvmPhysicalVolume : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
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
        return FileSystemAnalysis.WholeCopy(FileSystemKind.LvmPhysicalVolume, partition.Length,
            "LVM2 physical volume", uuid: label.Uuid);
    }
}
