using System.Collections.Concurrent;
using Serilog;

namespace LiveImager.Engine.Targets;

/// <summary>A store ready to use: its local directory, mounted by <see cref="StoreMounter"/> when it is not local,
/// and unmounted on <see cref="Dispose"/> or, failing that, at process exit.</summary>
public sealed class MountedStore : IDisposable
{
    /// <summary>Every mounted store's local directory in this process, and the store it is. Kept after unmounting:
    /// the error that ends a job is explained after the job's store was unmounted. Mount points have random names,
    /// so an entry never stands for another store.</summary>
    private static readonly ConcurrentDictionary<string, StoreLocation> s_mounted = new(StringComparer.Ordinal);

    private readonly MountRunner _run;
    private readonly EventHandler _onExit;
    private int _disposed;

    internal MountedStore(StoreLocation location, string directory, string? mountPoint, MountRunner run, string? hostKey = null)
    {
        Location = location;
        Directory = directory;
        MountPoint = mountPoint;
        HostKey = hostKey;
        _run = run;
        _onExit = (_, _) => Dispose();
        if (mountPoint is not null)
        {
            AppDomain.CurrentDomain.ProcessExit += _onExit;
            s_mounted[directory] = location;
        }
    }

    /// <summary><paramref name="text"/> with each mounted store's local directory (a path under /run/liveimager/mnt,
    /// which means nothing to the user) replaced by the store's URL, so that "No space left on device :
    /// '/run/liveimager/mnt/smb-…/pc.lim.partial'" reads "… 'smb://anna@nas/images/pc.lim.partial'". The URL never
    /// holds a password.</summary>
    public static string NameStores(string text)
    {
        foreach (var (directory, location) in s_mounted)
        {
            if (text.Contains(directory, StringComparison.Ordinal))
            {
                text = text.Replace(directory, location.ToString(), StringComparison.Ordinal);
            }
        }
        return text;
    }

    public StoreLocation Location { get; }

    /// <summary>The local directory that is the location's path.</summary>
    public string Directory { get; }

    /// <summary>Where the store is mounted, or null for a local directory.</summary>
    public string? MountPoint { get; }

    /// <summary>SSH: the fingerprint of the server's host key (SHA256:…), pinned by the URL or trusted on first use
    /// (<see cref="HostKeyPinned"/> says which); null for other stores.</summary>
    public string? HostKey { get; }

    /// <summary>True when <see cref="HostKey"/> was checked against the URL's <c>?hostkey=</c>.</summary>
    public bool HostKeyPinned => Location.HostKey is not null;

    /// <summary>Bytes an unprivileged writer may still use in <see cref="Directory"/>.</summary>
    public long FreeBytes => StoreSpace.FreeBytes(Directory);

    /// <summary>The local path of <paramref name="fileName"/> in the store.</summary>
    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    /// <summary>Creates and removes a probe file, so a read-only directory is refused before any work starts.</summary>
    public void RequireWritable()
    {
        string probe = Path.Combine(Directory, $".liveimager-write-test-{Environment.ProcessId}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write))
            {
            }
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            string who = Location.User is null ? "" : $" ({Location.User})";
            throw new StoreException(StoreProblem.PermissionDenied,
                $"permission denied: this login{who} may not write to {Location}: {e.Message}", e);
        }
    }

    /// <summary>Unmounts (retrying while busy, then lazily) and removes the mount point.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || MountPoint is null)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        Unmount(MountPoint, _run);
    }

    internal static void Unmount(string mountPoint, MountRunner run)
    {
        ToolOutput result = new(-1, "not tried");
        for (int attempt = 0; attempt < 10; attempt++)
        {
            result = run(new MountCommand("umount", [mountPoint]));
            if (result.ExitCode == 0 || !result.StandardError.Contains("busy", StringComparison.Ordinal))
            {
                break;
            }
            Thread.Sleep(200);
        }
        if (result.ExitCode != 0 && result.StandardError.Contains("busy", StringComparison.Ordinal))
        {
            result = run(new MountCommand("umount", ["-l", mountPoint]));
        }
        if (result.ExitCode != 0)
        {
            Log.Warning("Unmounting {MountPoint} failed: {Problem}", mountPoint, result.StandardError.Trim());
            return;
        }
        Log.Information("Unmounted {MountPoint}", mountPoint);
        try
        {
            System.IO.Directory.Delete(mountPoint);
        }
        catch (IOException e)
        {
            Log.Warning("Removing the mount point {MountPoint} failed: {Problem}", mountPoint, e.Message);
        }
    }
}
