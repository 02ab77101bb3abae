using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Opening;

/// <summary>How one partition came out of a mount: where it is mounted and by what, or why it is not.</summary>
public sealed record MountedPartition(int Number, string Filesystem, string? Label, string? MountPoint, string? Driver, string? Problem);

/// <summary>Mounts every partition of an image read-only under DIR/p1, DIR/p2, … through the image's NBD export, and
/// undoes it. The chain: a <c>liveimager serve</c> process on a private Unix socket → <c>nbdfuse</c> exposing the
/// whole-disk export as a file → one read-only loop device per partition → the kernel's ext4/xfs/btrfs, or the FUSE
/// drivers (ntfs-3g, exfat-fuse when the kernel has no exfat, fuse2fs when the kernel's ext4 refuses). Each step is written to a state
/// file under /run/liveimager/mounts before it is taken, so <see cref="Unmount"/> undoes all of it even after a crash,
/// and can be run again.</summary>
public static partial class ImageMount
{
    /// <summary>Where each mounted DIR keeps its state, socket and nbdfuse mount point.</summary>
    public const string StateRoot = "/run/liveimager/mounts";

    private const string StateFile = "state";
    private const string FuseDirectory = "fuse";
    private const string DiskFile = "disk";
    private const string SocketFile = "nbd.sock";
    private const string LogFile = "processes.log";
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The server's <c>--passphrase-file</c>: the pipe it inherits as descriptor 3.</summary>
    private const string PassphrasePipe = "/dev/fd/3";

    /// <summary>Mounts the partitions of <paramref name="image"/> (a local path, already checked to open) under
    /// <paramref name="directory"/>; <paramref name="serverCommand"/> gives the command line of a server for a socket path.
    /// An encrypted image's <paramref name="passphrase"/> reaches the server through a pipe it inherits, named to it
    /// by <c>--passphrase-file /dev/fd/3</c>: never in its arguments or environment.</summary>
    public static IReadOnlyList<MountedPartition> Mount(string image, ImageMetadata metadata, string directory,
        Func<string, IReadOnlyList<string>> serverCommand, ImagePassphrase? passphrase = null)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new ImagingException("mount needs root: it sets up loop devices and mounts");
        }
        string nbdfuse = StoreTools.Find("nbdfuse")
            ?? throw new ImagingException("nbdfuse is not installed (Debian package libnbd-bin); mount exposes the image's disk through it");
        string target = Path.GetFullPath(directory);
        Directory.CreateDirectory(target);
        string work = WorkDirectory(target);
        if (File.Exists(Path.Combine(work, StateFile)))
        {
            throw new ImagingException($"{directory} already holds a mounted image (state in {work}); run liveimager umount {directory} first");
        }
        Directory.CreateDirectory(work);
        var state = new StateWriter(Path.Combine(work, StateFile));
        try
        {
            state.Add("directory", target);
            string socket = Path.Combine(work, SocketFile);
            StartServer(serverCommand(socket), socket, work, state, passphrase);
            string disk = StartNbdfuse(nbdfuse, socket, work, state);
            var results = new List<MountedPartition>();
            foreach (PartitionInfo partition in metadata.Partitions)
            {
                results.Add(MountPartition(partition, metadata.Source.SizeBytes, disk, target, state));
            }
            Log.Information("Mounted {Image} under {Directory}: {Partitions}", image, target,
                string.Join("; ", results.Select(r => $"p{r.Number} {r.Filesystem}: {r.MountPoint ?? r.Problem}")));
            return results;
        }
        catch
        {
            IReadOnlyList<string> left = Unmount(target);
            if (left.Count > 0)
            {
                Log.Error("Mount of {Image} failed and its cleanup left: {Left}", image, string.Join("; ", left));
            }
            throw;
        }
    }

    /// <summary>Undoes what <see cref="Mount"/> recorded for <paramref name="directory"/>: every filesystem mount,
    /// loop device, FUSE mount and server. Returns the problems that remain (empty when all is undone; the state is kept
    /// then, so a second run tries again).</summary>
    public static IReadOnlyList<string> Unmount(string directory)
    {
        string target = Path.GetFullPath(directory);
        string work = WorkDirectory(target);
        string statePath = Path.Combine(work, StateFile);
        if (!File.Exists(statePath))
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
            return [];
        }
        List<(string Kind, string Value)> steps = StateWriter.Read(statePath);
        var problems = new List<string>();
        foreach ((string _, string mountPoint) in steps.Where(s => s.Kind == "mount").Reverse())
        {
            UnmountPath(mountPoint, problems);
        }
        string fuse = Path.Combine(work, FuseDirectory);
        DetachLoops(Path.Combine(fuse, DiskFile), problems);
        if (steps.Any(s => s.Kind == "fuse"))
        {
            UnmountPath(fuse, problems);
        }
        foreach ((string kind, string pid) in steps.Where(s => s.Kind is "fuse-process" or "overlay" or "server").Reverse())
        {
            Stop(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture), kind == "server" ? Path.Combine(work, SocketFile) : work, problems);
        }
        if (problems.Count > 0)
        {
            Log.Warning("Unmount of {Directory} left: {Problems}", target, string.Join("; ", problems));
            return problems;
        }
        foreach ((string _, string made) in steps.Where(s => s.Kind == "made").Reverse())
        {
            if (Directory.Exists(made) && !Directory.EnumerateFileSystemEntries(made).Any())
            {
                Directory.Delete(made);
            }
        }
        Directory.Delete(work, recursive: true);
        Log.Information("Unmounted the image under {Directory}", target);
        return [];
    }

    /// <summary>True when <paramref name="directory"/> has a mount's state.</summary>
    public static bool IsMounted(string directory) => File.Exists(Path.Combine(WorkDirectory(Path.GetFullPath(directory)), StateFile));

    /// <summary>Where the mount on <paramref name="target"/> (a full path) keeps its state, socket, FUSE file and log:
    /// the server's and nbdfuse's command lines and the loop devices' backing file all name it.</summary>
    public static string WorkDirectory(string target) =>
        Path.Combine(StateRoot, System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(target)))[..16]);

    private static void StartServer(IReadOnlyList<string> command, string socket, string work, StateWriter state,
        ImagePassphrase? passphrase = null)
    {
        Process server = StartDetached(passphrase is null ? command : [.. command, "--passphrase-file", PassphrasePipe], work,
            keepSecrets: true, passphrase: passphrase);
        state.Add("server", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        WaitFor(() => File.Exists(socket), server, "the NBD server", work);
    }

    private static string StartNbdfuse(string nbdfuse, string socket, string work, StateWriter state)
    {
        string fuse = Path.Combine(work, FuseDirectory);
        Directory.CreateDirectory(fuse);
        string disk = Path.Combine(fuse, DiskFile);
        state.Add("fuse", fuse);
        Process process = StartDetached([nbdfuse, "-r", disk, $"nbd+unix:///{NbdExport.DiskName}?socket={socket}"], work, keepSecrets: false);
        state.Add("fuse-process", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        WaitFor(() => File.Exists(disk), process, "nbdfuse", work);
        return disk;
    }

    private static MountedPartition MountPartition(PartitionInfo partition, long diskSize, string disk, string target, StateWriter state)
    {
        MountedPartition Refused(string why) => new(partition.Number, partition.Filesystem, partition.Label, null, null, why);
        string[][] drivers = Drivers(partition.Filesystem);
        if (drivers.Length == 0)
        {
            return Refused(partition.Filesystem switch
            {
                "swap" => "swap holds no files",
                _ => $"{partition.Filesystem} is not a filesystem LiveImager can mount",
            });
        }
        if (partition.StartBytes < 0 || partition.SizeBytes <= 0 || partition.StartBytes > diskSize - partition.SizeBytes)
        {
            return Refused("the image's metadata puts it outside the disk");
        }
        ToolOutput loop = StoreTools.Run(new MountCommand("losetup", ["--find", "--show", "--read-only", "--offset",
            partition.StartBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--sizelimit",
            partition.SizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), disk]));
        string device = loop.StandardError.Trim();
        if (loop.ExitCode != 0 || !device.StartsWith("/dev/loop", StringComparison.Ordinal))
        {
            return Refused($"no loop device: {device}");
        }
        string mountPoint = Path.Combine(target, NbdExport.PartitionName(partition.Number));
        if (!Directory.Exists(mountPoint))
        {
            state.Add("made", mountPoint);
            Directory.CreateDirectory(mountPoint);
        }
        var tried = new List<string>();
        foreach (string[] driver in drivers)
        {
            string tool = driver[0];
            if (StoreTools.Find(tool) is null)
            {
                tried.Add($"{tool} is not installed");
                continue;
            }
            state.Add("mount", mountPoint);
            ToolOutput mounted = StoreTools.Run(new MountCommand(tool, [.. driver[1..], device, mountPoint]));
            if (mounted.ExitCode == 0)
            {
                string how = tool == "mount" ? $"kernel {driver[2]}" : tool;
                return new MountedPartition(partition.Number, partition.Filesystem, partition.Label, mountPoint, how, null);
            }
            tried.Add($"{tool} {string.Join(' ', driver[1..])}: {mounted.StandardError.Trim()}");
        }
        return Refused(string.Join("; ", tried) + Advice(partition, disk));
    }

    /// <summary>The commands that may mount <paramref name="filesystem"/> read-only, in order of preference: the tool,
    /// then its options (device and mount point follow). Journals are never replayed: the image stays as captured.</summary>
    /// <remarks>FAT has no FUSE fallback: fusefat 0.1a (Debian's) shows FAT32 directories as empty files, a wrong view
    /// of the files, which is worse than none.</remarks>
    private static string[][] Drivers(string filesystem) => filesystem switch
    {
        "ext2" or "ext3" or "ext4" => [["mount", "-t", "ext4", "-o", "ro,noload"], ["fuse2fs", "-o", "ro"]],
        "xfs" => [["mount", "-t", "xfs", "-o", "ro,norecovery"]],
        "btrfs" => [["mount", "-t", "btrfs", "-o", "ro,rescue=nologreplay"], ["mount", "-t", "btrfs", "-o", "ro"]],
        "ntfs" => [["ntfs-3g", "-o", "ro"], ["mount", "-t", "ntfs3", "-o", "ro"]],
        "exfat" => [["mount", "-t", "exfat", "-o", "ro"], ["mount.exfat-fuse", "-o", "ro"]],
        "fat12" or "fat16" or "fat32" => [["mount", "-t", "vfat", "-o", "ro"]],
        _ => [],
    };

    /// <summary>What to do when no driver mounted <paramref name="partition"/>: mtools reads FAT without one.</summary>
    private static string Advice(PartitionInfo partition, string disk) => partition.Filesystem is "fat12" or "fat16" or "fat32"
        ? $" (this kernel has no vfat; copy the files out with mtools instead: mcopy -s -i '{disk}@@{partition.StartBytes}' ::/ DEST)"
        : string.Empty;

    private static void UnmountPath(string path, List<string> problems)
    {
        if (!IsMountPoint(path))
        {
            return;
        }
        ToolOutput result = StoreTools.Run(new MountCommand("umount", [path]));
        if (result.ExitCode != 0 && IsMountPoint(path))
        {
            problems.Add($"cannot unmount {path}: {result.StandardError.Trim()}");
        }
    }

    private static bool IsMountPoint(string path) =>
        File.ReadLines("/proc/self/mountinfo").Select(line => line.Split(' ')).Any(f => f.Length > 4 && Unescape(f[4]) == path);

    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    /// <summary>Detaches every loop device whose backing file is <paramref name="file"/>, found by name so a loop made
    /// just before a crash (and never recorded) goes too.</summary>
    private static void DetachLoops(string file, List<string> problems)
    {
        ToolOutput list = StoreTools.Run(new MountCommand("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"]));
        foreach (string line in list.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0 || Unescape(line[(space + 1)..].Trim().Replace("\\x20", " ", StringComparison.Ordinal)) != file)
            {
                continue;
            }
            string device = line[..space];
            ToolOutput detached = StoreTools.Run(new MountCommand("losetup", ["--detach", device]));
            if (detached.ExitCode != 0)
            {
                problems.Add($"cannot detach {device}: {detached.StandardError.Trim()}");
            }
        }
    }

    /// <summary>Stops process <paramref name="pid"/> if it is still the one started (its command line names
    /// <paramref name="marker"/>): SIGTERM, then SIGKILL.</summary>
    private static void Stop(int pid, string marker, List<string> problems)
    {
        if (!IsOurs(pid, marker))
        {
            return;
        }
        Mono.Unix.Native.Syscall.kill(pid, Mono.Unix.Native.Signum.SIGTERM);
        var clock = Stopwatch.StartNew();
        while (IsOurs(pid, marker) && clock.Elapsed < s_stopTimeout)
        {
            Thread.Sleep(50);
        }
        if (IsOurs(pid, marker))
        {
            Mono.Unix.Native.Syscall.kill(pid, Mono.Unix.Native.Signum.SIGKILL);
            Thread.Sleep(200);
            if (IsOurs(pid, marker))
            {
                problems.Add($"process {pid} does not stop");
            }
        }
    }

    private static bool IsOurs(int pid, string marker)
    {
        try
        {
            string status = File.ReadAllText($"/proc/{pid}/stat");
            // A zombie has finished; its parent (gone with the mount command) no longer reaps it here.
            if (status[(status.LastIndexOf(')') + 2)..].StartsWith('Z'))
            {
                return false;
            }
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(marker, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Starts a long-running helper in a session of its own, so it outlives this process and a closed terminal;
    /// its output goes to a log in the work directory, never to our pipes. Only the server, which opens the image's
    /// store itself, keeps the store secrets given in the environment; <paramref name="environment"/> adds variables.</summary>
    /// <param name="passphrase">Written as one line to a pipe that the helper holds as descriptor 3 (its standard
    /// input is /dev/null as for any helper); the pipe is closed once written, so the helper reads it to its end.</param>
    private static Process StartDetached(IReadOnlyList<string> command, string work, bool keepSecrets,
        IReadOnlyDictionary<string, string>? environment = null, ImagePassphrase? passphrase = null)
    {
        var info = new ProcessStartInfo(StoreTools.Find("setsid") ?? "/usr/bin/setsid") { UseShellExecute = false, RedirectStandardInput = passphrase is not null };
        string redirect = passphrase is null ? "</dev/null" : "3<&0 </dev/null";
        foreach (string argument in (string[])["sh", "-c", $"exec \"$@\" {redirect} >>\"$LIVEIMAGER_HELPER_LOG\" 2>&1", "sh", .. command])
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["LIVEIMAGER_HELPER_LOG"] = Path.Combine(work, LogFile);
        StoreTools.Sanitize(info, keepSecrets);
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        Process process = Process.Start(info) ?? throw new ImagingException($"cannot start {command[0]}");
        if (passphrase is not null)
        {
            using Stream pipe = process.StandardInput.BaseStream;
            passphrase.WriteLineTo(pipe);
        }
        return process;
    }

    private static void WaitFor(Func<bool> ready, Process process, string what, string work)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            if (process.HasExited || clock.Elapsed > s_startTimeout)
            {
                string log = File.Exists(Path.Combine(work, LogFile)) ? File.ReadAllText(Path.Combine(work, LogFile)).Trim() : string.Empty;
                throw new ImagingException($"{what} did not start{(process.HasExited ? $" (exit code {process.ExitCode})" : $" within {s_startTimeout.TotalSeconds:F0} s")}: {log}");
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>The state file: one "kind value" line per step, each written and flushed before the step is taken.</summary>
    private sealed class StateWriter(string path)
    {
        public void Add(string kind, string value)
        {
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write);
            stream.Write(Encoding.UTF8.GetBytes($"{kind} {value}\n"));
            stream.Flush(flushToDisk: true);
        }

        public static List<(string Kind, string Value)> Read(string path) =>
            [.. File.ReadLines(path).Where(l => l.Contains(' ', StringComparison.Ordinal))
                .Select(l => (l[..l.IndexOf(' ', StringComparison.Ordinal)], l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]))];
    }
}
