using System.Diagnostics;
using System.Security.Cryptography;
using LiveImager.Formats.Tests.Support;

namespace LiveImager.Formats.Tests.FileSystems.Ntfs;

/// <summary>An ntfs-3g FUSE mount of an image file, unmounted on Dispose even when the test failed.</summary>
/// <remarks>ntfs-3g runs in the foreground (no_detach) so that Dispose can wait for it to exit: unmounting a plain
/// FUSE mount returns before the daemon has written its last changes to the image.</remarks>
public sealed class NtfsFuseMount : IDisposable
{
    private readonly Process _daemon;
    private readonly System.Text.StringBuilder _messages;

    private NtfsFuseMount(string directory, Process daemon, System.Text.StringBuilder messages)
    {
        Directory = directory;
        _daemon = daemon;
        _messages = messages;
    }

    /// <summary>What ntfs-3g wrote to standard error; complete once the mount is disposed.</summary>
    public string Messages
    {
        get
        {
            lock (_messages)
            {
                return _messages.ToString();
            }
        }
    }

    /// <summary>Where the volume is mounted.</summary>
    public string Directory { get; }

    /// <summary>Mounts <paramref name="image"/> on a new directory <paramref name="directory"/>.</summary>
    public static NtfsFuseMount Mount(string image, string directory, bool readOnly)
    {
        System.IO.Directory.CreateDirectory(directory);
        var info = new ProcessStartInfo("ntfs-3g")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-o");
        info.ArgumentList.Add(readOnly ? "ro,no_detach" : "no_detach");
        info.ArgumentList.Add(image);
        info.ArgumentList.Add(directory);
        var daemon = Process.Start(info) ?? throw new InvalidOperationException("cannot start ntfs-3g");
        var errors = new System.Text.StringBuilder();
        daemon.OutputDataReceived += (_, _) => { };
        daemon.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        var mount = new NtfsFuseMount(directory, daemon, errors);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!IsMounted(directory))
        {
            if (daemon.HasExited || DateTime.UtcNow > deadline)
            {
                mount.Dispose();
                lock (errors)
                {
                    throw new InvalidOperationException($"ntfs-3g did not mount {image}:\n{errors}");
                }
            }
            Thread.Sleep(20);
        }
        return mount;
    }

    /// <summary>The sha256 of every file under the mount, by path relative to it.</summary>
    public SortedDictionary<string, string> HashFiles()
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*", SearchOption.AllDirectories))
        {
            using var stream = File.OpenRead(path);
            hashes[Path.GetRelativePath(Directory, path)] = Convert.ToHexString(SHA256.HashData(stream));
        }
        return hashes;
    }

    public void Dispose()
    {
        if (IsMounted(Directory))
        {
            ExternalTool.RunUnchecked("fusermount", null, "-u", Directory);
        }
        if (_daemon.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            _daemon.WaitForExit(); // drains the asynchronous reads of its output
        }
        else
        {
            _daemon.Kill();
            ExternalTool.RunUnchecked("umount", null, "-l", Directory);
        }
        _daemon.Dispose();
    }

    private static bool IsMounted(string directory)
    {
        string full = Path.GetFullPath(directory).TrimEnd('/');
        return File.ReadLines("/proc/self/mountinfo").Any(line => line.Split(' ')[4] == full);
    }
}
