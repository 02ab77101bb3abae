using LiveImager.Formats.FileSystems;
using LiveImager.Formats.FileSystems.ExFat;
using LiveImager.Formats.FileSystems.Fat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Fat;

/// <summary>Hostile metadata: random bytes written over the boot sector, FATs and directories of real volumes must
/// give a map or a <see cref="DiskFormatException"/>, never another exception, a hang or a huge allocation.</summary>
public sealed class FatFamilyMutationTests
{
    private const int Rounds = 200;

    [SkippableTheory]
    [InlineData("fat12", new[] { "-F", "12", "-s", "1" }, 2)]
    [InlineData("fat16", new[] { "-F", "16", "-s", "1" }, 16)]
    [InlineData("fat32", new[] { "-F", "32", "-s", "1" }, 40)]
    public void Mutated_fat_metadata_never_escapes_as_anything_but_a_disk_format_error(string name, string[] mkfs, int sizeMiB)
    {
        ExternalTool.Require("mkfs.fat", "dosfstools");
        ExternalTool.Require("mcopy", "mtools");
        Environment.SetEnvironmentVariable("MTOOLS_SKIP_CHECK", "1");
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile($"{name}.img", sizeMiB * (1L << 20));
        ExternalTool.Run("mkfs.fat", [.. mkfs, "-n", "MUTANT", image]);
        string local = scratch.File("FILE.BIN");
        File.WriteAllBytes(local, new byte[70_000]);
        ExternalTool.Run("mmd", "-i", image, "::/DIR");
        ExternalTool.Run("mcopy", "-i", image, local, "::/DIR/FILE.BIN");
        byte[] volume = File.ReadAllBytes(image);
        var boot = FatBootSector.Parse(volume);
        // The boot sector, FSInfo and backup, the FATs, the fixed root directory and the first data clusters (the
        // FAT32 root directory and DIR live there).
        long metadataEnd = boot.DataStartBytes + (8L * boot.ClusterBytes);
        MutateRange(new FatModule(), volume, 0, metadataEnd, seed: sizeMiB, expectMaps: true);
    }

    [SkippableFact]
    public void Mutated_exfat_metadata_never_escapes_as_anything_but_a_disk_format_error()
    {
        ExternalTool.Require("mkfs.exfat", "exfatprogs");
        using var scratch = new ScratchDirectory();
        string image = scratch.SparseFile("exfat.img", 32L << 20);
        ExternalTool.Run("mkfs.exfat", "-c", "512", "-L", "MUTANT", image);
        byte[] volume = File.ReadAllBytes(image);
        var boot = ExFatBootSector.Parse(volume);
        var module = new ExFatModule();
        // The boot sector's checksum stops most mutations there early, so aim the rest at the FAT and the first
        // clusters of the heap (bitmap, up-case table, root directory).
        MutateRange(module, volume, 0, ExFatBootSector.Size, seed: 1, expectMaps: false);
        MutateRange(module, volume, boot.FatStartBytes, boot.FatStartBytes + 4096, seed: 2, expectMaps: true);
        MutateRange(module, volume, boot.ClusterHeapStartBytes, boot.ClusterStartBytes(boot.FirstClusterOfRootDirectory + 1),
            seed: 3, expectMaps: true);
    }

    /// <summary>Rounds of one to four random bytes written in [<paramref name="start"/>, <paramref name="end"/>),
    /// each analysed and then undone. Some must be rejected, or the mutations missed the metadata; some must still map
    /// when <paramref name="expectMaps"/> (not in the exFAT boot sector, whose checksum rejects nearly every change).</summary>
    private static void MutateRange(IFileSystemModule module, byte[] volume, long start, long end, int seed, bool expectMaps)
    {
        var random = new Random(seed);
        var source = new StreamBlockSource(new MemoryStream(volume, writable: false));
        int mapped = 0;
        int rejected = 0;
        for (int round = 0; round < Rounds; round++)
        {
            int count = random.Next(1, 5);
            var offsets = new int[count];
            var saved = new byte[count];
            for (int i = 0; i < count; i++)
            {
                offsets[i] = (int)random.NextInt64(start, end);
                saved[i] = volume[offsets[i]];
                volume[offsets[i]] = (byte)random.Next(256);
            }
            try
            {
                if (module.Probe(volume.AsSpan(0, FileSystemDetector.HeadBytes)) != FileSystemKind.Unknown)
                {
                    module.Analyze(source);
                    mapped++;
                }
            }
            catch (DiskFormatException)
            {
                rejected++;
            }
            finally
            {
                for (int i = count - 1; i >= 0; i--)
                {
                    volume[offsets[i]] = saved[i];
                }
            }
        }
        Assert.True(rejected > 0 && (mapped > 0 || !expectMaps), $"mapped {mapped}, rejected {rejected}");
    }
}
