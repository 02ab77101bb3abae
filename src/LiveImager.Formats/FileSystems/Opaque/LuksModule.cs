namespace LiveImager.Formats.FileSystems.Opaque;

/// <summary>LUKS1/LUKS2 encrypted volumes: named, and copied whole, since which sectors hold data is encrypted too.</summary>
public sealed class LuksModule : IFileSystemModule
{
    public FileSystemKind Probe(ReadOnlySpan<byte> head) =>
        LuksHeader.HasMagic(head) ? FileSystemKind.Luks : FileSystemKind.Unknown;

    public FileSystemAnalysis Analyze(IBlockSource partition)
    {
        var bytes = new byte[LuksHeader.Size];
        partition.ReadAt(0, bytes);
        var header = LuksHeader.Parse(bytes);
        header.Validate();
        return FileSystemAnalysis.WholeCopy(FileSystemKind.Luks, partition.Length,
            $"LUKS{header.Version} encrypted volume", header.Label, header.Uuid);
    }
}
