using System.Diagnostics;
using LiveImager.Engine.Opening;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>The demo's disk captured once (split into 8 MiB volumes) and restored into a sparse file: the reference
/// every way of opening the image is compared with.</summary>
public sealed class DemoImage : IDisposable
{
    public DemoImage()
    {
        Scratch = new ScratchDirectory();
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", Scratch.File("log"));
        string? binary = Environment.GetEnvironmentVariable(PublishedBinary.Variable);
        if (string.IsNullOrEmpty(binary) || !ExternalTool.Exists("mkntfs") || !ExternalTool.Exists("mcopy") || !File.Exists("/dev/fuse"))
        {
            return;
        }
        Disk = Scratch.File("disk.img");
        ExternalTool.Run("bash", RepositoryScripts.Path("make-test-disk.sh"), Disk, "160M");
        Image = Scratch.File("disk.lim");
        ExternalTool.Run(binary, "capture", Disk, Image, "--split", "8M");
        Restored = Scratch.SparseFile("restored.img", new FileInfo(Disk).Length);
        ExternalTool.Run(binary, "restore", Image, Restored, "--yes");
    }

    public ScratchDirectory Scratch { get; }
    public string? Disk { get; }
    public string? Image { get; }
    public string? Restored { get; }

    /// <summary>The image, or a skip naming what is missing to make it.</summary>
    public string Require()
    {
        PublishedBinary.Require();
        ExternalTool.Require("mkntfs", "ntfs-3g");
        ExternalTool.Require("mcopy", "mtools");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) to make the demo disk's NTFS partition");
        return Image!;
    }

    public void Dispose() => Scratch.Dispose();
}

/// <summary>A <c>liveimager serve</c> process on a Unix socket, killed on dispose.</summary>
internal sealed class ServeProcess : IDisposable
{
    private readonly Process _process;

    public ServeProcess(string binary, string image, string socket)
    {
        Socket = socket;
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["serve", image, "--socket", socket])
        {
            info.ArgumentList.Add(argument);
        }
        _process = Process.Start(info)!;
        _ = _process.StandardOutput.ReadToEndAsync();
        _ = _process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!File.Exists(socket))
        {
            Assert.False(_process.HasExited, $"serve exited with {(_process.HasExited ? _process.ExitCode : 0)}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "serve did not create its socket within 60 s");
            Thread.Sleep(50);
        }
    }

    public string Socket { get; }

    public string Uri(string export = "") => $"nbd+unix:///{export}?socket={Socket}";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}

/// <summary>serve, export, mount and umount through the published binary, with real NBD clients (nbdinfo, nbdcopy,
/// libnbd, qemu-img), real loop devices and real filesystem drivers.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class OpeningTests(DemoImage demo) : IClassFixture<DemoImage>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void ServeListsEveryExportAndCopiesTheDiskAsRestoreWritesIt()
    {
        string image = demo.Require();
        ExternalTool.Require("nbdinfo", "libnbd-bin");
        using var serve = new ServeProcess(PublishedBinary.Require(), image, _scratch.File("nbd.sock"));

        string list = ExternalTool.Run("nbdinfo", "--list", serve.Uri());
        foreach (string name in (string[])["disk", "p1", "p2", "p3", "p4"])
        {
            Assert.Contains($"export=\"{name}\"", list);
        }
        Assert.Contains("is_read_only: true", list);
        Assert.Contains("export-size: 167772160", list);
        // Two clients at once: the whole disk and the ext4 partition.
        string whole = _scratch.File("whole.img");
        string ext4 = _scratch.File("p2.img");
        Task<string> first = Task.Run(() => ExternalTool.Run("nbdcopy", serve.Uri(), whole));
        Task<string> second = Task.Run(() => ExternalTool.Run("nbdcopy", serve.Uri("p2"), ext4));
        Task.WaitAll(first, second);

        Assert.True(File.ReadAllBytes(whole).AsSpan().SequenceEqual(File.ReadAllBytes(demo.Restored!)), "nbdcopy of the disk differs from the restore");
        long start = long.Parse(ExternalTool.Run("bash", "-c", $"sfdisk --json {demo.Disk} | jq '.partitiontable.partitions[1].start * 512'").Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        byte[] restored = File.ReadAllBytes(demo.Restored!);
        byte[] partition = File.ReadAllBytes(ext4);
        Assert.True(partition.AsSpan().SequenceEqual(restored.AsSpan((int)start, partition.Length)), "nbdcopy of p2 differs from the restore's p2");
    }

    /// <summary>libnbd with its client-side checks off, so the server itself answers: reads past the end get EINVAL,
    /// a zero-length read succeeds, unaligned reads give the right bytes, a write gets EPERM.</summary>
    [SkippableFact]
    public void ServeAnswersPastTheEndZeroLengthUnalignedAndWrites()
    {
        string image = demo.Require();
        Skip.IfNot(ExternalTool.RunUnchecked("/usr/bin/python3", null, "-c", "import nbd").ExitCode == 0,
            "needs libnbd's Python module (apt-get install python3-libnbd)");
        using var serve = new ServeProcess(PublishedBinary.Require(), image, _scratch.File("nbd.sock"));
        string script = _scratch.File("edge.py");
        File.WriteAllText(script, """
            import nbd, sys, hashlib
            h = nbd.NBD()
            h.set_strict_mode(0)
            h.connect_uri(sys.argv[1])
            size = h.get_size()
            for offset, count in [(size - 5, 10), (size, 1), (2**63, 1), (0, 64 * 1024 * 1024)]:
                try:
                    h.pread(count, offset)
                    print("read", offset, count, "ok")
                except nbd.Error as e:
                    print("read", offset, count, e.errno)
            print("empty", len(h.pread(0, 12345)))
            print("unaligned", hashlib.sha256(h.pread(1000003, 4097)).hexdigest())
            try:
                h.pwrite(b"x" * 10, 0)
                print("write ok")
            except nbd.Error as e:
                print("write", e.errno)
            print("after", len(h.pread(512, size - 512)))
            """.Replace("            ", "", StringComparison.Ordinal));

        string output = ExternalTool.Run("/usr/bin/python3", script, serve.Uri());

        byte[] restored = File.ReadAllBytes(demo.Restored!);
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(restored.AsSpan(4097, 1000003)));
        Assert.Contains($"read {restored.Length - 5} 10 EINVAL", output);
        Assert.Contains($"read {restored.Length} 1 EINVAL", output);
        Assert.Contains("read 9223372036854775808 1 EINVAL", output);
        Assert.Contains("read 0 67108864 EINVAL", output);
        Assert.Contains("empty 0", output);
        Assert.Contains($"unaligned {expected}", output);
        Assert.Contains("write EPERM", output);
        Assert.Contains("after 512", output);
    }

    /// <summary>Raw and qcow2 exports hold exactly the restored disk (qemu-img compare), and the raw file is sparse.</summary>
    [SkippableFact]
    public void ExportedRawAndQcow2MatchTheRestoredDisk()
    {
        string image = demo.Require();
        ExternalTool.Require("qemu-img", "qemu-utils");
        string binary = PublishedBinary.Require();
        string raw = _scratch.File("export.raw");
        string qcow2 = _scratch.File("export.qcow2");

        ExternalTool.Run(binary, "export", image, raw);
        ExternalTool.Run(binary, "export", image, qcow2, "--format", "qcow2");
        ToolResult again = ExternalTool.RunUnchecked(binary, null, "export", image, raw);

        Assert.Contains("Images are identical", ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", demo.Restored!, raw));
        Assert.Contains("Images are identical", ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", demo.Restored!, qcow2));
        long length = new FileInfo(raw).Length;
        long allocated = long.Parse(ExternalTool.Run("stat", "-c", "%b", raw).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
        Assert.Equal(new FileInfo(demo.Disk!).Length, length);
        Assert.True(allocated < length * 6 / 10, $"raw export takes {allocated} of {length} bytes");
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("already exists", again.StandardError);
        Assert.False(File.Exists(raw + ".partial"));
    }

    /// <summary>A fresh exFAT on a sparse file has zeros in every unused byte, so its exports equal the source itself.</summary>
    [SkippableFact]
    public void ExportedWholeDiskExFatEqualsTheSource()
    {
        string binary = PublishedBinary.Require();
        ExternalTool.Require("mkfs.exfat", "exfatprogs");
        ExternalTool.Require("qemu-img", "qemu-utils");
        string disk = _scratch.SparseFile("exfat.img", 48L << 20);
        ExternalTool.Run("mkfs.exfat", "-L", "STICK", disk);
        string image = _scratch.File("exfat.lim");
        ExternalTool.Run(binary, "capture", disk, image);

        ExternalTool.Run(binary, "export", image, _scratch.File("exfat.raw"));
        ExternalTool.Run(binary, "export", image, _scratch.File("exfat.qcow2"), "--format", "qcow2");

        Assert.Contains("Images are identical", ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", disk, _scratch.File("exfat.raw")));
        Assert.Contains("Images are identical", ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", disk, _scratch.File("exfat.qcow2")));
    }

    /// <summary>Every file of the ext4 and NTFS partitions (and FAT32 where the kernel has vfat) reads back with its sha256 from the manifest; umount
    /// (twice) leaves no mount, loop device or helper process.</summary>
    [SkippableFact]
    public void MountShowsEveryFileAndUmountLeavesNothing()
    {
        string image = demo.Require();
        RequireMountTools();
        string binary = PublishedBinary.Require();
        string directory = _scratch.File("mnt");
        try
        {
            string mounted = ExternalTool.Run(binary, "mount", image, directory);

            Assert.Contains($"p2 ext4 \"linux\": {directory}/p2 (kernel ext4)", mounted);
            Assert.Contains($"p3 ntfs \"windows\": {directory}/p3 (ntfs-3g)", mounted);
            Assert.Contains("p4 swap \"swap\": not mounted: swap holds no files", mounted);
            bool vfat = File.ReadAllText("/proc/filesystems").Contains("\tvfat\n", StringComparison.Ordinal);
            Assert.Contains(vfat ? $"p1 fat32 \"EFI\": {directory}/p1 (kernel vfat)" : "this kernel has no vfat; copy the files out with mtools", mounted);
            (string, string)[] checks = [("p2", "p2.ext4.sha256"), ("p3", "p3.ntfs.sha256"), .. vfat ? [("p1", "p1.vfat.sha256")] : Array.Empty<(string, string)>()];
            foreach ((string partition, string manifest) in checks)
            {
                string sums = Path.Combine(demo.Disk + ".manifest", manifest);
                ToolResult check = ExternalTool.RunUnchecked("bash", null, "-c", $"cd {directory}/{partition} && sha256sum --quiet --strict -c {sums}");
                Assert.True(check.ExitCode == 0, $"{partition}: {check.StandardOutput}{check.StandardError}");
                int files = int.Parse(ExternalTool.Run("bash", "-c", $"cd {directory}/{partition} && find . -type f | wc -l").Trim(),
                    System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(File.ReadAllLines(sums).Length, files);
            }
            ToolResult write = ExternalTool.RunUnchecked("bash", null, "-c", $"echo x > {directory}/p2/new-file");
            Assert.NotEqual(0, write.ExitCode);
        }
        finally
        {
            ExternalTool.RunUnchecked(binary, null, "umount", directory);
        }
        string second = ExternalTool.Run(binary, "umount", directory);

        Assert.Contains("nothing to undo", second);
        AssertNothingLeft(directory);
    }

    /// <summary>A crash of the mount's helpers (the server and nbdfuse killed with SIGKILL) leaves filesystems over a
    /// dead FUSE file; umount still undoes everything.</summary>
    [SkippableFact]
    public void UmountCleansUpAfterTheServerAndNbdfuseAreKilled()
    {
        string image = demo.Require();
        RequireMountTools();
        string binary = PublishedBinary.Require();
        string directory = _scratch.File("mnt");
        try
        {
            ExternalTool.Run(binary, "mount", image, directory);
            string work = Directory.GetDirectories("/run/liveimager/mounts")
                .Single(d => File.ReadAllLines(Path.Combine(d, "state")).Contains($"directory {directory}"));
            int[] helpers = [.. Directory.GetDirectories("/proc").Select(Path.GetFileName).OfType<string>()
                .Where(name => int.TryParse(name, out _))
                .Where(pid => ReadCommandLine(pid).Contains(work, StringComparison.Ordinal))
                .Select(int.Parse)];
            Assert.Equal(2, helpers.Length);
            foreach (int pid in helpers)
            {
                ExternalTool.Run("kill", "-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            ToolResult dead = ExternalTool.RunUnchecked("ls", null, $"{directory}/p2/data");
            Assert.NotEqual(0, dead.ExitCode);
        }
        finally
        {
            ExternalTool.RunUnchecked(binary, null, "umount", directory);
        }

        AssertNothingLeft(directory);

        static string ReadCommandLine(string pid)
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline");
            }
            catch (IOException)
            {
                return string.Empty;
            }
        }
    }

    /// <summary>A damaged frame under one ext4 file: reading that file fails with EIO and the log names the frame; the
    /// other files read correctly.</summary>
    [SkippableFact]
    public void ADamagedFrameFailsOnlyTheFilesInIt()
    {
        demo.Require();
        RequireMountTools();
        string binary = PublishedBinary.Require();
        string image = _scratch.File("damaged.lim");
        ExternalTool.Run(binary, "capture", demo.Disk!, image);
        string start = ExternalTool.Run("bash", "-c", $"sfdisk --json {demo.Disk} | jq '.partitiontable.partitions[1].start * 512'").Trim();
        string part = _scratch.File("p2.ext4");
        ExternalTool.Run("bash", "-c", $"dd if={demo.Disk} of={part} bs=1M iflag=skip_bytes skip={start} count=56 status=none");
        long blockSize = long.Parse(ExternalTool.Run("bash", "-c", $"dumpe2fs -h {part} 2>/dev/null | sed -n 's/^Block size: *//p'").Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        long partitionStart = long.Parse(start, System.Globalization.CultureInfo.InvariantCulture);
        // The victim is the data file that starts last: far from the inode tables and directories at the front, whose
        // damage would take other files with it.
        (string victim, long block) = File.ReadAllLines(Path.Combine(demo.Disk + ".manifest", "p2.ext4.sha256"))
            .Select(l => l[(l.IndexOf("  ./", StringComparison.Ordinal) + 4)..])
            .Where(path => path.StartsWith("data/", StringComparison.Ordinal))
            .Select(path => (path, block: long.Parse(ExternalTool.Run("debugfs", "-R", $"bmap /{path} 0", part).Trim(), System.Globalization.CultureInfo.InvariantCulture)))
            .MaxBy(f => f.block);
        long position = partitionStart + (block * blockSize);
        IndexEntry frame = FrameDamage.FlipPayloadByte(image, file => file.Index.Entries.Single(e => e.DiskPosition <= position && position < e.DiskEnd));
        // The kernel reads ahead (the loop device's readahead, 128 KiB by default): a file whose blocks lie just beside
        // the damaged frame can fail with it, so files within 1 MiB of the frame are neither required to fail nor to read.
        const long ReadAhead = 1L << 20;
        HashSet<string> inFrame = FilesIn(part, Math.Max(0, frame.DiskPosition - ReadAhead - partitionStart) / blockSize,
            (frame.DiskEnd + ReadAhead - partitionStart) / blockSize);
        string directory = _scratch.File("mnt");
        try
        {
            ExternalTool.Run(binary, "mount", image, directory);

            ToolResult bad = ExternalTool.RunUnchecked("cat", null, $"{directory}/p2/{victim}");
            string sums = Path.Combine(demo.Disk + ".manifest", "p2.ext4.sha256");
            string others = _scratch.File("others.sha256");
            // A directory whose blocks lie there takes its files with it: they cannot be looked up.
            bool Touched(string path) => inFrame.Contains(path) ||
                Enumerable.Range(1, path.Length - 1).Where(i => path[i] == '/').Any(i => inFrame.Contains(path[..i]));
            File.WriteAllLines(others, File.ReadAllLines(sums).Where(l => !Touched(l[(l.IndexOf("  ./", StringComparison.Ordinal) + 3)..])));
            ToolResult good = ExternalTool.RunUnchecked("bash", null, "-c", $"cd {directory}/p2 && sha256sum --quiet -c {others}");

            Assert.NotEqual(0, bad.ExitCode);
            Assert.Contains("Input/output error", bad.StandardError);
            Assert.True(good.ExitCode == 0, good.StandardOutput + good.StandardError);
            string log = string.Join("\n", Directory.GetFiles(demo.Scratch.File("log")).Select(f =>
            {
                using var reader = new StreamReader(new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                return reader.ReadToEnd();
            }));
            Assert.Contains($"answered EIO: image frame {frame.FrameNumber} (data", log);
            Assert.Contains("/" + victim, inFrame);
            Assert.True(File.ReadAllLines(others).Length > 10, "most files lie outside the damaged frame");
        }
        finally
        {
            ExternalTool.RunUnchecked(binary, null, "umount", directory);
        }
        AssertNothingLeft(directory);
    }

    /// <summary>The paths of the ext4 files with a block in [<paramref name="first"/>, <paramref name="end"/>).</summary>
    private static HashSet<string> FilesIn(string ext4, long first, long end)
    {
        var inodes = new HashSet<string>();
        for (long from = Math.Max(0, first); from < end; from += 256)
        {
            string blocks = string.Join(' ', Enumerable.Range(0, (int)Math.Min(256, end - from)).Select(i => from + i));
            foreach (string line in ExternalTool.Run("debugfs", "-R", $"icheck {blocks}", ext4).Split('\n').Skip(1))
            {
                string[] fields = line.Split('\t');
                if (fields.Length == 2 && long.TryParse(fields[1], out _))
                {
                    inodes.Add(fields[1]);
                }
            }
        }
        var paths = new HashSet<string>();
        if (inodes.Count > 0)
        {
            foreach (string line in ExternalTool.Run("debugfs", "-R", $"ncheck {string.Join(' ', inodes)}", ext4).Split('\n').Skip(1))
            {
                string[] fields = line.Split('\t');
                if (fields.Length == 2)
                {
                    paths.Add(fields[1].Trim());
                }
            }
        }
        return paths;
    }

    private static void RequireMountTools()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "mount needs root (loop devices, mounts)");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        ExternalTool.Require("ntfs-3g", "ntfs-3g");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse)");
        Skip.IfNot(File.Exists("/dev/loop-control"), "needs loop devices (/dev/loop-control)");
    }

    /// <summary>No mount under <paramref name="directory"/> or of the mount's state directory, no loop device backed by
    /// an nbdfuse file, no nbdfuse or serve process of this test.</summary>
    /// <summary>Nothing of this mount is left: no mount, loop device or helper process names its directory or its work
    /// directory. (Other tests' mounts, running at the same time, have work directories of their own.)</summary>
    private static void AssertNothingLeft(string directory)
    {
        string work = ImageMount.WorkDirectory(Path.GetFullPath(directory));
        string mounts = File.ReadAllText("/proc/self/mountinfo");
        Assert.DoesNotContain(directory, mounts);
        Assert.DoesNotContain(work, mounts);
        Assert.DoesNotContain(work, ExternalTool.Run("losetup", "--list", "--noheadings", "--output", "BACK-FILE"));
        Assert.DoesNotContain(work, ExternalTool.Run("ps", "-eo", "args"));
        Assert.False(Directory.Exists(work), $"{work} is left");
    }
}
