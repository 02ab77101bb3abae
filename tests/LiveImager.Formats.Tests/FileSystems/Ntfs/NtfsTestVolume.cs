using LiveImager.Formats.Tests.Support;

namespace LiveImager.Formats.Tests.FileSystems.Ntfs;

/// <summary>A real NTFS volume made by mkntfs on a sparse file and filled through an ntfs-3g mount: files of several
/// sizes in nested directories, a fragmented file, and deleted files whose clusters are free again.</summary>
public sealed class NtfsTestVolume
{
    /// <summary>The label mkntfs is given.</summary>
    public const string Label = "LiveImgNtfs";

    /// <summary>48 MiB and 3 sectors of 512 bytes: the volume is not a whole number of large clusters (nor of 4096-byte
    /// sectors), so bytes past its last cluster, the backup boot sector among them, must be copied as the partition's tail.</summary>
    public const long ImageBytes = (48L << 20) + 3 * 512;

    private NtfsTestVolume(string image, SortedDictionary<string, string> hashes)
    {
        Image = image;
        Hashes = hashes;
    }

    public string Image { get; }

    /// <summary>The sha256 of every file, read through ntfs-3g after it was written.</summary>
    public SortedDictionary<string, string> Hashes { get; }

    /// <summary>Formats (mkntfs -c <paramref name="clusterSize"/> -s <paramref name="sectorSize"/>) and fills a new
    /// volume in <paramref name="scratch"/>.</summary>
    public static NtfsTestVolume Create(ScratchDirectory scratch, int clusterSize, int sectorSize)
    {
        string name = $"ntfs-c{clusterSize}-s{sectorSize}";
        string image = scratch.SparseFile($"{name}.img", ImageBytes);
        ExternalTool.Run("mkntfs", "-F", "-Q", "-c", clusterSize.ToString(), "-s", sectorSize.ToString(), "-L", Label, image);
        using (var mount = NtfsFuseMount.Mount(image, scratch.File($"mnt-{name}"), readOnly: false))
        {
            Fill(mount.Directory);
        }
        using (var mount = NtfsFuseMount.Mount(image, scratch.File($"mnt-{name}"), readOnly: true))
        {
            return new NtfsTestVolume(image, mount.HashFiles());
        }
    }

    private static void Fill(string root)
    {
        var random = new Random(20261125);
        void Write(string relative, int bytes)
        {
            string path = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var data = new byte[bytes];
            random.NextBytes(data);
            File.WriteAllBytes(path, data);
        }

        Write("readme.txt", 300); // resident: stored inside its MFT record
        Write("docs/report.bin", 300_000);
        Write("docs/deep/er/still.bin", 70_000);
        Write("big.bin", 4_000_000);
        Write("gone/deleted-a.bin", 2_000_000);
        Write("fragment/first.bin", 1_000_000);
        Write("fragment/second.bin", 1_000_000);
        for (int i = 0; i < 60; i++)
        {
            Write($"many/file-{i:D3}.dat", 1000 + i * 97); // enough names for an index allocation block
        }
        File.Delete(Path.Combine(root, "gone/deleted-a.bin"));
        File.Delete(Path.Combine(root, "fragment/first.bin"));
        Write("fragment/third.bin", 1_500_000); // larger than the hole first.bin left: fragmented
        Write("late.bin", 600_000);
        Directory.Delete(Path.Combine(root, "gone"));
    }
}
