using LiveImager.Formats.Tests.Support;

namespace LiveImager.Formats.Tests.FileSystems.Ntfs;

/// <summary>The NTFS test volumes, made once per cluster size for all tests of a class.</summary>
public sealed class NtfsVolumes : IDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private readonly Dictionary<int, NtfsTestVolume> _volumes = [];

    /// <summary>The filled volume of <paramref name="clusterSize"/>-byte clusters; tests must not modify it.</summary>
    public NtfsTestVolume Get(int clusterSize)
    {
        lock (_volumes)
        {
            if (!_volumes.TryGetValue(clusterSize, out var volume))
            {
                volume = NtfsTestVolume.Create(_scratch, clusterSize);
                _volumes[clusterSize] = volume;
            }
            return volume;
        }
    }

    /// <summary>A sparse copy of the volume of <paramref name="clusterSize"/>-byte clusters, for a test to damage.</summary>
    public string CopyOf(int clusterSize, ScratchDirectory scratch, string name)
    {
        string copy = scratch.File(name);
        ExternalTool.Run("cp", "--sparse=always", Get(clusterSize).Image, copy);
        return copy;
    }

    public void Dispose() => _scratch.Dispose();
}
