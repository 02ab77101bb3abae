using System.Security.Cryptography;
using System.Text;

namespace LiveImager.Formats.Tests.FileSystems.Fat;

/// <summary>The files every FAT and exFAT case holds: nested directories, sizes around cluster boundaries, an empty
/// file, and files deleted before the capture so free clusters hold stale data that must not be copied.</summary>
public static class FatFamilyFiles
{
    /// <summary>A file of the case: where it lives, how big it is, and whether it is deleted before the capture.</summary>
    public sealed record TestFile(string Path, int Size, bool Deleted);

    /// <summary>Directories to create, parents first.</summary>
    public static IReadOnlyList<string> Directories { get; } = ["sub", "sub/deep"];

    /// <summary>Files in the order they are written; deleted ones are removed before <see cref="LateFiles"/> are written,
    /// so those reuse the freed clusters and end up fragmented.</summary>
    public static IReadOnlyList<TestFile> EarlyFiles { get; } =
    [
        new("readme.txt", 1000, Deleted: false),
        new("a.bin", 150_000, Deleted: false),
        new("gone.bin", 300_000, Deleted: true),
        new("sub/b.bin", 400_000, Deleted: false),
        new("sub/gone2.bin", 70_000, Deleted: true),
        new("sub/deep/c.bin", 4096, Deleted: false),
        new("empty.dat", 0, Deleted: false),
    ];

    /// <summary>Files written after the deletions.</summary>
    public static IReadOnlyList<TestFile> LateFiles { get; } = [new("late.bin", 120_000, Deleted: false)];

    /// <summary>The files that must survive a round trip.</summary>
    public static IEnumerable<TestFile> Kept => EarlyFiles.Concat(LateFiles).Where(f => !f.Deleted);

    /// <summary>Deterministic, incompressible content for <paramref name="file"/>, seeded by its path.</summary>
    public static byte[] Content(TestFile file)
    {
        var bytes = new byte[file.Size];
        new Random(BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(file.Path)))).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));
}
