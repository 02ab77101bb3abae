using System.Diagnostics;
using System.Security.Cryptography;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Opening;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Engine.Tests.Opening;

/// <summary>Copying files and folders out of an image: the walk's rules on a plain tree, and the whole way the TUI's
/// "Browse an image" takes (a real ext4 captured, mounted by <see cref="ImageBrowse"/> through nbdfuse and a loop
/// device, a folder copied out, everything undone).</summary>
public sealed class CopyOutTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>The folder every test copies: nested folders, text and random files, an empty file, a link out of the
    /// tree and a link inside it. Returns relative path → sha256 of the regular files.</summary>
    private static Dictionary<string, string> MakeTree(string root)
    {
        var random = new Random(14_2026);
        var sums = new Dictionary<string, string>();
        void Write(string relative, byte[] bytes)
        {
            string path = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            sums[relative] = Convert.ToHexString(SHA256.HashData(bytes));
        }
        byte[] big = new byte[3_000_000];
        random.NextBytes(big);
        Write("docs/readme.txt", "the browse test's text\n"u8.ToArray());
        Write("docs/sub/random.bin", big);
        Write("docs/sub/deep/er/empty", []);
        byte[] odd = new byte[1_048_577];
        random.NextBytes(odd);
        Write("docs/sub/deep/one-past-a-mebibyte.bin", odd);
        Write("docs/name with spaces.txt", "spaces kept\n"u8.ToArray());
        Write("top.txt", "the image's top.txt\n"u8.ToArray());
        File.CreateSymbolicLink(Path.Combine(root, "docs/escape"), "/etc");
        File.CreateSymbolicLink(Path.Combine(root, "docs/inner"), "sub");
        return sums;
    }

    private static void AssertCopied(Dictionary<string, string> sums, string destination, CopyOutResult result)
    {
        foreach ((string relative, string sum) in sums.Where(s => s.Key.StartsWith("docs/", StringComparison.Ordinal)))
        {
            string copy = Path.Combine(destination, relative);
            Assert.True(File.Exists(copy), $"{relative} was not copied");
            Assert.Equal(sum, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(copy))));
        }
        Assert.Equal(sums.Count(s => s.Key.StartsWith("docs/", StringComparison.Ordinal)), result.Files);
        Assert.Equal(4, result.Directories);
        // Links are reported, never followed: nothing of /etc comes out, and the inner link is not copied as a folder.
        Assert.False(Path.Exists(Path.Combine(destination, "docs/escape")));
        Assert.False(Path.Exists(Path.Combine(destination, "docs/inner")));
        Assert.Contains(result.Failures, f => f.Item == "docs/escape" && f.Reason.Contains("symbolic link (to /etc); links are not followed", StringComparison.Ordinal));
        Assert.Contains(result.Failures, f => f.Item == "docs/inner" && f.Reason.Contains("links are not followed", StringComparison.Ordinal));
        // top.txt was there already: said, and left as it was.
        Assert.Contains(result.Failures, f => f.Item == "top.txt" && f.Reason.EndsWith("top.txt already exists; not overwritten", StringComparison.Ordinal));
        Assert.Equal("the destination's own top.txt\n", File.ReadAllText(Path.Combine(destination, "top.txt")));
    }

    private string Destination()
    {
        string destination = Directory.CreateDirectory(_scratch.File("out")).FullName;
        File.WriteAllText(Path.Combine(destination, "top.txt"), "the destination's own top.txt\n");
        return destination;
    }

    [Fact]
    public void CopiesAFolderTreeKeepingNamesWithoutFollowingLinksOrOverwriting()
    {
        string root = Directory.CreateDirectory(_scratch.File("tree")).FullName;
        Dictionary<string, string> sums = MakeTree(root);
        string destination = Destination();
        var job = new CopyOutJob(new CopyOutOptions(root, ["docs", "docs/sub/random.bin", "top.txt", "../outside", "missing"], destination));
        var reports = new List<ImagingProgress>();
        job.Progress += reports.Add;

        CopyOutResult result = job.Run(CancellationToken.None);

        AssertCopied(sums, destination, result);
        Assert.Contains(result.Failures, f => f.Item == "../outside" && f.Reason == "not a name inside the partition");
        Assert.Contains(result.Failures, f => f.Item == "missing" && f.Reason == "not found in the partition");
        Assert.Equal(5, result.Failures.Count);
        long docsBytes = sums.Where(s => s.Key.StartsWith("docs/", StringComparison.Ordinal)).Sum(s => new FileInfo(Path.Combine(root, s.Key)).Length);
        Assert.Equal(docsBytes, result.Bytes);
        ImagingProgress last = reports[^1];
        Assert.Equal(last.BytesTotal, last.BytesDone);
        Assert.Equal(docsBytes + new FileInfo(Path.Combine(root, "top.txt")).Length, last.BytesTotal);
        // A path through a link is refused at the link, even when it names something behind it.
        CopyOutFailure through = Assert.Single(new CopyOutJob(new CopyOutOptions(root, ["docs/escape/passwd"], destination)).Run(CancellationToken.None).Failures);
        Assert.Equal(("docs/escape/passwd", "a symbolic link (to /etc); links are not followed"), (through.Item, through.Reason));
        // A second copy into the same place overwrites nothing and says so for every file.
        CopyOutResult again = new CopyOutJob(new CopyOutOptions(root, ["docs"], destination)).Run(CancellationToken.None);
        Assert.Equal(0, again.Files);
        Assert.Equal(5, again.Failures.Count(f => f.Reason.EndsWith("already exists; not overwritten", StringComparison.Ordinal)));
    }

    [Fact]
    public void ADestinationThatIsNotAFolderIsRefusedBeforeAnythingIsRead()
    {
        string root = Directory.CreateDirectory(_scratch.File("tree")).FullName;
        MakeTree(root);
        var e = Assert.Throws<ImagingException>(() =>
            new CopyOutJob(new CopyOutOptions(root, ["docs"], _scratch.File("nowhere"))).Run(CancellationToken.None));
        Assert.Equal($"{_scratch.File("nowhere")} is not a directory here; copy-out writes into an existing directory", e.Message);
    }

    /// <summary>The TUI's way end to end: a real ext4 (mkfs.ext4 -d) in a GPT disk file, captured; opened by
    /// <see cref="ImageBrowse"/> (the image's NBD export → nbdfuse → read-only loop → the kernel's ext4, all of
    /// <see cref="ImageMount"/>); a folder copied out with every file's sha256 checked; closed, leaving no mount, no
    /// loop device and no process behind.</summary>
    [SkippableFact]
    public void AFolderCopiedOutOfAMountedImageMatchesEveryFileAndNothingStaysMounted()
    {
        Privileges.RequireLoopDevices("mounts an image's partition through nbdfuse and a loop device");
        Skip.IfNot(File.Exists("/dev/fuse"), "needs FUSE (/dev/fuse) for nbdfuse");
        ExternalTool.Require("nbdfuse", "libnbd-bin");
        ExternalTool.Require("mkfs.ext4", "e2fsprogs");
        ExternalTool.Require("sfdisk", "fdisk");

        string tree = Directory.CreateDirectory(_scratch.File("tree")).FullName;
        Dictionary<string, string> sums = MakeTree(tree);
        string disk = _scratch.SparseFile("disk.img", 48L << 20);
        ExternalTool.RunWithInput("sfdisk", "label: gpt\nstart=2048, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n", "-q", disk);
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-L", "browsed", "-E", "offset=1048576", "-d", tree, disk, "32M");
        string image = _scratch.File("disk.lim");
        new CaptureJob(new CaptureOptions(disk, image)).Run(CancellationToken.None);
        string destination = Destination();

        using ImageDisk served = ImageDisk.Open(image);
        NbdServer? server = null;
        string socketPath = "/nonexistent/socket";
        (string Directory, IReadOnlyList<BrowsedPartition> Partitions)? opened = null;
        try
        {
            // The server runs in this process (the test has no liveimager binary); the process ImageMount starts and
            // later stops stands for it, its command line naming the socket as `liveimager serve` does.
            opened = ImageBrowse.Open(image, socket =>
            {
                socketPath = socket;
                server = NbdServer.ListenUnix(served, socket);
                server.ServeInBackground();
                return ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done", "serve-stand-in", socket];
            });
            BrowsedPartition partition = Assert.Single(opened.Value.Partitions);
            Assert.Equal((1, "ext4", "browsed", 32L << 20), (partition.Number, partition.Filesystem, partition.Label, partition.SizeBytes));
            Assert.True(partition.MountPoint is not null, $"p1 was not mounted: {partition.Problem}");
            Assert.StartsWith(Path.Combine(ImageMount.StateRoot, ImageBrowse.DirectoryPrefix), partition.MountPoint);

            var clock = Stopwatch.StartNew();
            CopyOutResult result = new CopyOutJob(new CopyOutOptions(partition.MountPoint!, ["docs", "top.txt"], destination)).Run(CancellationToken.None);
            Console.WriteLine($"copy-out of {result.Bytes} bytes in {result.Files} files from the mounted image: {clock.Elapsed.TotalSeconds:0.00} s");

            AssertCopied(sums, destination, result);
            Assert.Equal(3, result.Failures.Count);
        }
        finally
        {
            if (opened is { } o)
            {
                Assert.Empty(ImageBrowse.Close(o.Directory));
            }
            if (Directory.Exists(Path.GetDirectoryName(socketPath)))
            {
                server?.Dispose();
            }
            else
            {
                // Close removed the socket with its work directory; only the listener is left to close.
                try
                {
                    server?.Dispose();
                }
                catch (DirectoryNotFoundException)
                {
                }
            }
        }

        string directory = opened!.Value.Directory;
        Assert.False(Directory.Exists(directory), $"{directory} is still there");
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), line => line.Contains(directory, StringComparison.Ordinal));
        Assert.DoesNotContain(directory, ExternalTool.Run("losetup", "--list", "--noheadings", "--output", "BACK-FILE"));
        foreach (string process in Directory.EnumerateDirectories("/proc").Where(p => int.TryParse(Path.GetFileName(p), out _)))
        {
            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(process, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            Assert.False(commandLine.Contains(directory, StringComparison.Ordinal), $"process {Path.GetFileName(process)} is left: {commandLine}");
        }
    }
}
