using LiveImager.Formats.Tests.Support;

namespace LiveImager.Formats.Tests.FileSystems.Ntfs;

/// <summary>The NTFS test volumes, made once per cluster size for all tests of a class.</summary>
public sealed class NtfsVolumes : IDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private readonly Dictionary<(int, int), NtfsTestVolume> _volumes = [];

    /// <summary>The filled volume of <paramref name="clusterSize"/>-byte clusters and <paramref name="sectorSize"/>-byte
    /// sectors; tests must not modify it.</summary>
    public NtfsTestVolume Get(int clusterSize, int sectorSize = 512)
    {
        lock (_volumes)
        {
            if (!_volumes.TryGetValue((clusterSize, sectorSize), out var volume))
            {
                volume = NtfsTestVolume.Create(_scratch, clusterSize, sectorSize);
                _volumes[(clusterSize, sectorSize)] = volume;
            }
            return volume;
        }
    }

    /// <summary>A sparse copy of the volume of <paramref name="clusterSize"/>-byte clusters and 512-byte sectors, for a
    /// test to damage.</summary>
    public string CopyOf(int clusterSize, ScratchDirectory scratch, string name)
    {
        string copy = scratch.File(name);
        ExternalTool.Run("cp", "--sparse=always", Get(clusterSize).Image, copy);
        return copy;
    }

    public void Dispose() => _scratch.Dispose();
}
