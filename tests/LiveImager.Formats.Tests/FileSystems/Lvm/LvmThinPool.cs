using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Lvm;

/// <summary>VG metadata edited and written back with vgcfgrestore: lvcreate cannot make a thin pool without
/// device-mapper, but the metadata of one is what LVM writes for it, and vgcfgrestore --force takes it.</summary>
public static class LvmThinPool
{
    /// <summary>Turns the linear LVs <paramref name="metadata"/> and <paramref name="data"/> into the hidden
    /// <c>POOL_tmeta</c> and <c>POOL_tdata</c> of a new thin-pool LV <paramref name="pool"/>, as lvconvert would.</summary>
    public static void Convert(LvmTestDisk disk, ScratchDirectory scratch, string metadata, string data, string pool)
    {
        long dataExtents = disk.Segments(data).Sum(s => s.Extents);
        Restore(disk, scratch, text =>
        {
            text = Hide(text, metadata, $"{pool}_tmeta");
            text = Hide(text, data, $"{pool}_tdata");
            string section = $"\t\t{pool} {{\n\t\t\tid = \"Pq0lT1-aaaa-bbbb-cccc-dddd-eeee-ffffff\"\n" +
                "\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n\t\t\tflags = []\n\t\t\tsegment_count = 1\n\n" +
                $"\t\t\tsegment1 {{\n\t\t\t\tstart_extent = 0\n\t\t\t\textent_count = {dataExtents}\n\n\t\t\t\ttype = \"thin-pool\"\n" +
                $"\t\t\t\tmetadata = \"{pool}_tmeta\"\n\t\t\t\tpool = \"{pool}_tdata\"\n\t\t\t\ttransaction_id = 0\n" +
                "\t\t\t\tchunk_size = 128\n\t\t\t\tdiscards = \"passdown\"\n\t\t\t\tzero_new_blocks = 1\n\t\t\t}\n\t\t}\n\n";
            int lvs = text.IndexOf("\tlogical_volumes {\n\n", StringComparison.Ordinal);
            Assert.True(lvs >= 0, "vgcfgbackup's text has no logical_volumes section");
            return text.Insert(lvs + "\tlogical_volumes {\n\n".Length, section);
        });
    }

    /// <summary>Backs the VG's metadata up to a file, edits it, and restores it (seqno and all).</summary>
    public static void Restore(LvmTestDisk disk, ScratchDirectory scratch, Func<string, string> edit)
    {
        string file = scratch.File("vg-metadata.txt");
        disk.Lvm("vgcfgbackup", "-f", file, disk.VolumeGroup);
        string before = File.ReadAllText(file);
        string after = edit(before);
        Assert.NotEqual(before, after);
        File.WriteAllText(file, after);
        disk.Lvm("vgcfgrestore", "--force", "-f", file, disk.VolumeGroup);
    }

    private static string Hide(string text, string name, string newName)
    {
        int start = text.IndexOf($"\t\t{name} {{\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no LV {name} in the metadata");
        int visible = text.IndexOf(", \"VISIBLE\"]", start, StringComparison.Ordinal);
        text = text.Remove(visible, ", \"VISIBLE\"".Length);
        return text.Remove(start, name.Length + 2).Insert(start, $"\t\t{newName}");
    }
}
