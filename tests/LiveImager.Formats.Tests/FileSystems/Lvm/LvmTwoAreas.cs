namespace LiveImager.Formats.Tests.FileSystems.Lvm;

/// <summary>A PV made with <c>--pvmetadatacopies 2</c> (an area at the start and one at the end), with LVs "first"
/// and "second".</summary>
/// <param name="Bytes">The PV as LVM left it.</param>
/// <param name="OlderFirstArea">The same PV with its first area set back to the text from before "second" existed, as
/// after a crash between LVM's writes of its two areas.</param>
public sealed record LvmTwoAreas(byte[] Bytes, byte[] OlderFirstArea)
{
    public static LvmTwoAreas Create()
    {
        using var scratch = new Support.ScratchDirectory();
        using var disk = LvmTestDisk.Create(scratch, 64L << 20);
        // Made again with two metadata areas: LvmTestDisk's pvcreate made one.
        disk.Lvm("vgremove", "-f", disk.VolumeGroup);
        disk.Lvm("pvcreate", "-ff", "-y", "--norestorefile", "--pvmetadatacopies", "2", disk.Loops[0]);
        disk.Lvm("vgcreate", "-s", "4m", disk.VolumeGroup, disk.Loops[0]);
        disk.CreateLogicalVolume("first", 2);
        byte[] before = File.ReadAllBytes(disk.Files[0]);
        disk.CreateLogicalVolume("second", 2);
        byte[] after = File.ReadAllBytes(disk.Files[0]);
        byte[] older = (byte[])after.Clone();
        // The first area: from 4 KiB up to pe_start at 1 MiB.
        Array.Copy(before, 4096, older, 4096, (1 << 20) - 4096);
        return new LvmTwoAreas(after, older);
    }
}
