using System.Globalization;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.FileSystems.Lvm;

/// <summary>A real LVM2 volume group on loop devices over sparse files, made and read by the real lvm tools with a
/// private configuration that sees only these loop devices, backs nothing up, and never talks to device-mapper (the LVs
/// are never activated: this kernel has no device-mapper). Filesystems are placed in LVs by writing their bytes at
/// the PV offsets <c>lvs</c> reports. Dispose removes the VG and the PV labels and detaches the loops.</summary>
public sealed class LvmTestDisk : IDisposable
{
    private readonly List<string> _loops = [];
    private readonly string _config;

    private LvmTestDisk(string vg, IReadOnlyList<string> files, IEnumerable<string> loops)
    {
        VolumeGroup = vg;
        Files = files;
        _loops.AddRange(loops);
        string accept = string.Join(", ", _loops.Select(l => $"\"a|^{l}$|\""));
        _config = $"devices {{ filter = [ {accept}, \"r|.*|\" ] global_filter = [ {accept}, \"r|.*|\" ] " +
            "use_devicesfile = 0 obtain_device_list_from_udev = 0 hints = \"none\" } " +
            "backup { backup = 0 archive = 0 } activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }";
    }

    /// <summary>The VG's name, unique per test.</summary>
    public string VolumeGroup { get; }

    /// <summary>The PVs' backing files, in the order given to <see cref="Create"/>.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The PVs' loop devices, in the same order.</summary>
    public IReadOnlyList<string> Loops => _loops;

    /// <summary>Skips unless root with the lvm tools and loop devices.</summary>
    public static void Require()
    {
        Privileges.RequireLoopDevices("pvcreate needs loop devices, which need root");
        ExternalTool.Require("pvcreate", "lvm2");
        ExternalTool.Require("losetup", "mount");
    }

    /// <summary>Makes one PV per size in <paramref name="pvBytes"/> and a VG of them with 4 MiB extents.</summary>
    public static LvmTestDisk Create(ScratchDirectory scratch, params long[] pvBytes)
    {
        var files = pvBytes.Select((bytes, i) => scratch.SparseFile($"pv{i}.img", bytes)).ToList();
        var loops = new List<string>();
        LvmTestDisk? disk = null;
        try
        {
            foreach (string file in files)
            {
                loops.Add(ExternalTool.Run("losetup", "-f", "--show", file).Trim());
            }
            disk = new LvmTestDisk($"litest{Guid.NewGuid():N}"[..14], files, loops);
            foreach (string loop in loops)
            {
                disk.Lvm("pvcreate", "--norestorefile", loop);
            }
            disk.Lvm("vgcreate", ["-s", "4m", disk.VolumeGroup, .. loops]);
            return disk;
        }
        catch
        {
            if (disk is not null)
            {
                disk.Dispose();
            }
            else
            {
                loops.ForEach(l => ExternalTool.RunUnchecked("losetup", null, "-d", l));
            }
            throw;
        }
    }

    /// <summary>Runs an lvm command with this disk's private configuration and without device-mapper.</summary>
    public string Lvm(string command, params string[] args) =>
        ExternalTool.Run("lvm", [command, "--config", _config, "--driverloaded", "n", .. args]);

    /// <summary>Creates an LV of <paramref name="extents"/> extents, not activated and not zeroed (no device-mapper),
    /// with lvcreate's <paramref name="options"/>, on the PV <paramref name="pv"/> (an index into <see cref="Loops"/>) or
    /// where LVM chooses.</summary>
    public void CreateLogicalVolume(string name, int extents, string[]? options = null, int? pv = null) =>
        Lvm("lvcreate", ["--activate", "n", "--zero", "n", "-y", "-l", extents.ToString(CultureInfo.InvariantCulture), "-n", name,
            .. options ?? [], VolumeGroup, .. pv is { } index ? new[] { _loops[index] } : []]);

    /// <summary>The extent size in bytes.</summary>
    public long ExtentBytes => long.Parse(Lvm("vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_extent_size", VolumeGroup).Trim(),
        CultureInfo.InvariantCulture);

    /// <summary>Byte offset of the first extent on PV <paramref name="pv"/> (an index into <see cref="Loops"/>).</summary>
    public long PeStartBytes(int pv) => long.Parse(
        Lvm("pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", _loops[pv]).Trim(), CultureInfo.InvariantCulture);

    /// <summary>The LV's segments as lvs reports them: logical start extent, extent count, stripe size in bytes, and
    /// each stripe's (PV index, first physical extent).</summary>
    public IReadOnlyList<TestSegment> Segments(string lv)
    {
        var segments = new List<TestSegment>();
        string output = Lvm("lvs", "-a", "--noheadings", "--separator", ";", "--units", "b", "--nosuffix",
            "-o", "seg_start_pe,seg_size_pe,stripe_size,seg_pe_ranges", $"{VolumeGroup}/{lv}");
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] fields = line.Split(';');
            var stripes = fields[3].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(range =>
            {
                int colon = range.LastIndexOf(':');
                return (Pv: _loops.IndexOf(range[..colon]), Start: long.Parse(range[(colon + 1)..].Split('-')[0], CultureInfo.InvariantCulture));
            }).ToList();
            Assert.DoesNotContain(stripes, s => s.Pv < 0);
            segments.Add(new TestSegment(long.Parse(fields[0], CultureInfo.InvariantCulture), long.Parse(fields[1], CultureInfo.InvariantCulture),
                long.Parse(fields[2], CultureInfo.InvariantCulture), stripes));
        }
        return segments;
    }

    /// <summary>Where each byte range of the LV lies: (LV offset, PV index, PV byte offset, length), per stripe chunk.</summary>
    public IEnumerable<(long LvOffset, int Pv, long PvOffset, long Length)> Layout(string lv)
    {
        long extent = ExtentBytes;
        var peStarts = Enumerable.Range(0, _loops.Count).Select(PeStartBytes).ToList();
        foreach (var segment in Segments(lv))
        {
            long segmentBytes = segment.Extents * extent;
            int n = segment.Stripes.Count;
            long chunk = n == 1 ? segmentBytes : segment.StripeBytes;
            for (long offset = 0; offset < segmentBytes; offset += chunk)
            {
                long index = offset / chunk;
                var stripe = segment.Stripes[(int)(index % n)];
                yield return (segment.Start * extent + offset, stripe.Pv,
                    peStarts[stripe.Pv] + stripe.Start * extent + index / n * chunk, chunk);
            }
        }
    }

    /// <summary>Writes <paramref name="image"/> (no larger than the LV) into the LV's place on the PV files.</summary>
    public void WriteLogicalVolume(string lv, string image) => CopyLayout(lv, image, toLv: true, Files);

    /// <summary>Reads the LV out of <paramref name="pvFiles"/> (the PVs' files, or restored copies of them) into <paramref name="image"/>.</summary>
    public void ReadLogicalVolume(string lv, string image, IReadOnlyList<string> pvFiles) => CopyLayout(lv, image, toLv: false, pvFiles);

    private void CopyLayout(string lv, string image, bool toLv, IReadOnlyList<string> pvFiles)
    {
        var streams = pvFiles.Select(f => new FileStream(f, FileMode.Open, toLv ? FileAccess.ReadWrite : FileAccess.Read)).ToList();
        try
        {
            using var file = new FileStream(image, toLv ? FileMode.Open : FileMode.Create, toLv ? FileAccess.Read : FileAccess.Write);
            var buffer = new byte[1 << 20];
            foreach (var (lvOffset, pv, pvOffset, length) in Layout(lv).ToList())
            {
                for (long done = 0; done < length; done += buffer.Length)
                {
                    int chunk = (int)Math.Min(buffer.Length, length - done);
                    var (from, to) = toLv ? ((Stream)file, (Stream)streams[pv]) : (streams[pv], file);
                    from.Position = toLv ? lvOffset + done : pvOffset + done;
                    if (toLv && from.Position >= from.Length)
                    {
                        return;
                    }
                    int read = from.ReadAtLeast(buffer.AsSpan(0, chunk), chunk, throwOnEndOfStream: false);
                    to.Position = toLv ? pvOffset + done : lvOffset + done;
                    to.Write(buffer, 0, read);
                }
            }
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
        }
    }

    public void Dispose()
    {
        ExternalTool.RunUnchecked("lvm", null, "vgremove", "--config", _config, "--driverloaded", "n", "-f", VolumeGroup);
        foreach (string loop in _loops)
        {
            ExternalTool.RunUnchecked("lvm", null, "pvremove", "--config", _config, "--driverloaded", "n", "-ff", "-y", loop);
            ExternalTool.RunUnchecked("losetup", null, "-d", loop);
        }
    }
}

/// <summary>One segment as lvs reports it (extents are logical for Start and Extents, physical for stripes).</summary>
public sealed record TestSegment(long Start, long Extents, long StripeBytes, IReadOnlyList<(int Pv, long Start)> Stripes);
