using System.Diagnostics;
using LiveImager.Engine.Imaging;
using LiveImager.Engine.Targets;
using Serilog;

namespace LiveImager.Engine.Opening;

/// <summary>What to copy out of a mounted partition: items named relative to <paramref name="SourceRoot"/> (its mount
/// point), each copied under its own name into <paramref name="Destination"/>, an existing directory.</summary>
public sealed record CopyOutOptions(string SourceRoot, IReadOnlyList<string> Items, string Destination);

/// <summary>One file, folder or link that was not copied, and why.</summary>
public sealed record CopyOutFailure(string Item, string Reason);

/// <summary>What a copy-out did: regular files and folders written, their bytes, and what was left out.</summary>
public sealed record CopyOutResult(int Files, int Directories, long Bytes, IReadOnlyList<CopyOutFailure> Failures, TimeSpan Elapsed)
{
    public bool Succeeded => Failures.Count == 0;
}

/// <summary>Copies files and folders out of a mounted image partition (see <see cref="ImageBrowse"/>): a first walk
/// totals the bytes, a second copies them through one bounded buffer, reporting progress. Symbolic links are never
/// followed (a link in an image points into the machine that was captured, not into the mount), nor are devices,
/// pipes or sockets copied; each is reported as left out. Existing files at the destination are never overwritten:
/// they are reported too. Files are created 0600 and folders 0700, never through a link (<see cref="PrivateFiles"/>).</summary>
public sealed class CopyOutJob(CopyOutOptions options)
{
    /// <summary>The one buffer a copy holds: the job's memory whatever the files' sizes.</summary>
    public const int BufferBytes = 1 << 20;

    /// <summary>Folders nested deeper than this are left out: each level holds one open directory.</summary>
    public const int MaxDepth = 128;

    /// <summary>At most this many failures are kept in the result; the rest are only counted in the log.</summary>
    public const int MaxFailuresKept = 1000;

    private static readonly TimeSpan s_reportEvery = TimeSpan.FromMilliseconds(250);

    private readonly List<CopyOutFailure> _failures = [];
    private int _failuresDropped;
    private readonly byte[] _buffer = new byte[BufferBytes];
    private readonly Stopwatch _clock = new();
    private TimeSpan _lastReport;
    private long _bytesTotal;
    private long _bytesDone;
    private long _bytesCopied;
    private int _files;
    private int _directories;

    /// <summary>Raised on the copying thread at most four times a second, and once at the end.</summary>
    public event Action<ImagingProgress>? Progress;

    public CopyOutResult Run(CancellationToken cancellationToken)
    {
        _clock.Start();
        string root = Path.GetFullPath(options.SourceRoot);
        if (KindOf(root) != EntryKind.Directory)
        {
            throw new ImagingException($"{options.SourceRoot} is not a directory to copy from");
        }
        if (!Directory.Exists(options.Destination))
        {
            throw new ImagingException($"{options.Destination} is not a directory here; copy-out writes into an existing directory");
        }
        var items = new List<(string Item, string Source)>();
        foreach (string item in TopItems(options.Items))
        {
            if (Resolve(root, item) is string source)
            {
                items.Add((item, source));
            }
        }
        foreach ((string _, string source) in items)
        {
            _bytesTotal += Total(source, 0, cancellationToken);
        }
        Log.Information("Copy-out of {Count} items ({Bytes} bytes) from {Root} to {Destination}", items.Count, _bytesTotal, root, options.Destination);
        string into = Path.GetFullPath(options.Destination).TrimEnd('/');
        if (into.Length == 0)
        {
            throw new ImagingException("copy-out writes into a folder, not into / itself");
        }
        using (PrivateDirectory destination = PrivateFiles.OpenDirectory(Path.GetDirectoryName(into)!, Path.GetFileName(into)))
        {
            foreach ((string item, string source) in items)
            {
                Copy(source, item, destination, 0, cancellationToken);
            }
        }
        Report(force: true);
        if (_failuresDropped > 0)
        {
            _failures.Add(new CopyOutFailure("…", $"and {_failuresDropped} more left out; the log names each"));
        }
        Log.Information("Copy-out done: {Files} files, {Directories} folders, {Bytes} bytes, {Failures} left out", _files, _directories,
            _bytesCopied, _failures.Count + _failuresDropped);
        return new CopyOutResult(_files, _directories, _bytesCopied, _failures, _clock.Elapsed);
    }

    /// <summary>The items as given, without any that lies inside another one (it is copied with it) or twice.</summary>
    private static IEnumerable<string> TopItems(IReadOnlyList<string> items)
    {
        string[] cleaned = [.. items.Select(i => i.Trim('/')).Distinct(StringComparer.Ordinal)];
        return cleaned.Where(i => !cleaned.Any(other => other.Length > 0 && other != i && i.StartsWith(other + "/", StringComparison.Ordinal)));
    }

    /// <summary>What an entry is, by lstat(2): a link is a link, never what it points to.</summary>
    private enum EntryKind
    {
        Missing,
        File,
        Directory,
        Link,
        Special,
    }

    private static EntryKind KindOf(string path)
    {
        Interop.StatResult stat;
        try
        {
            stat = Interop.lstat(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return EntryKind.Missing;
        }
        return (stat.Mode & Interop.S_IFMT) switch
        {
            Interop.S_IFREG => EntryKind.File,
            Interop.S_IFDIR => EntryKind.Directory,
            Interop.S_IFLNK => EntryKind.Link,
            _ => EntryKind.Special,
        };
    }

    /// <summary>The item's path under <paramref name="root"/>, checked component by component: no "..", no link on
    /// the way (a link would lead out of the mount). Null, with the reason recorded, when it may not be copied.</summary>
    private string? Resolve(string root, string item)
    {
        string[] parts = item.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".." || p.Contains('\0')))
        {
            Fail(item, "not a name inside the partition");
            return null;
        }
        string path = root;
        foreach (string part in parts)
        {
            path = Path.Combine(path, part);
            EntryKind kind = KindOf(path);
            if (kind == EntryKind.Missing)
            {
                Fail(item, "not found in the partition");
                return null;
            }
            if (kind == EntryKind.Link)
            {
                Fail(item, LinkReason(path));
                return null;
            }
        }
        return path;
    }

    private static string LinkReason(string path)
    {
        string? target = new FileInfo(path).LinkTarget;
        return $"a symbolic link{(target is null ? "" : $" (to {target})")}; links are not followed";
    }

    private long Total(string path, int depth, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        switch (KindOf(path))
        {
            case EntryKind.File:
                return new FileInfo(path).Length;
            case EntryKind.Directory when depth < MaxDepth:
                long total = 0;
                try
                {
                    foreach (string child in Directory.EnumerateFileSystemEntries(path, "*", s_oneLevel))
                    {
                        total += Total(child, depth + 1, cancellationToken);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Counted as nothing; the copy meets the same error and reports it.
                }
                return total;
            default:
                return 0;
        }
    }

    private static readonly EnumerationOptions s_oneLevel = new()
    {
        RecurseSubdirectories = false,
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        ReturnSpecialDirectories = false,
    };

    private void Copy(string source, string item, PrivateDirectory into, int depth, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        switch (KindOf(source))
        {
            case EntryKind.Directory:
                CopyDirectory(source, item, into, depth, cancellationToken);
                break;
            case EntryKind.File:
                CopyFile(source, item, into, cancellationToken);
                break;
            case EntryKind.Link:
                Fail(item, LinkReason(source));
                break;
            case EntryKind.Special:
                Fail(item, "not a regular file (a device, pipe or socket); left out");
                break;
            default:
                Fail(item, "vanished from the partition");
                break;
        }
    }

    private void CopyDirectory(string source, string item, PrivateDirectory into, int depth, CancellationToken cancellationToken)
    {
        if (depth >= MaxDepth)
        {
            Fail(item, $"nested deeper than {MaxDepth} folders; left out");
            return;
        }
        string name = Path.GetFileName(source);
        string[] children;
        try
        {
            // Listed in full before copying, so a folder that cannot be read is one failure, not a half-walk.
            children = [.. Directory.EnumerateFileSystemEntries(source, "*", s_oneLevel).Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(item, $"the folder cannot be read: {e.Message}");
            return;
        }
        PrivateDirectory made;
        try
        {
            made = PrivateFiles.OpenDirectory(into.Path, name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(item, $"its folder cannot be made at the destination: {e.Message}");
            return;
        }
        using (made)
        {
            _directories++;
            foreach (string child in children)
            {
                Copy(child, $"{item}/{Path.GetFileName(child)}", made, depth + 1, cancellationToken);
            }
        }
        TrySetTime(Path.Combine(into.Path, name), Directory.GetLastWriteTimeUtc(source), directory: true);
    }

    private void CopyFile(string source, string item, PrivateDirectory into, CancellationToken cancellationToken)
    {
        string name = Path.GetFileName(source);
        string target = Path.Combine(into.Path, name);
        long length = new FileInfo(source).Length;
        if (KindOf(target) != EntryKind.Missing)
        {
            Fail(item, $"{target} already exists; not overwritten");
            _bytesDone += length;
            return;
        }
        FileStream output;
        try
        {
            output = into.Create(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(item, $"cannot be created at the destination: {e.Message}");
            _bytesDone += length;
            return;
        }
        long copied = 0;
        bool complete = false;
        try
        {
            using (output)
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan))
            {
                int read;
                while ((read = input.Read(_buffer)) > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    output.Write(_buffer, 0, read);
                    copied += read;
                    _bytesDone += read;
                    _bytesCopied += read;
                    Report(force: false);
                }
            }
            complete = true;
            _files++;
            TrySetTime(target, File.GetLastWriteTimeUtc(source), directory: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A damaged frame reads as EIO here: this file fails, the others go on.
            Fail(item, $"{(copied > 0 ? $"failed after {copied} bytes" : "cannot be read")}: {e.Message}");
        }
        finally
        {
            if (!complete)
            {
                // A partial copy is not left looking like the file (this job created it); the bar moves past it.
                File.Delete(target);
                _bytesDone += Math.Max(0, length - copied);
            }
        }
    }

    private static void TrySetTime(string path, DateTime time, bool directory)
    {
        try
        {
            if (directory)
            {
                Directory.SetLastWriteTimeUtc(path, time);
            }
            else
            {
                File.SetLastWriteTimeUtc(path, time);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The time is a courtesy; the bytes are what was asked for.
        }
    }

    private void Fail(string item, string reason)
    {
        Log.Warning("Copy-out: {Item} not copied: {Reason}", item, reason);
        if (_failures.Count < MaxFailuresKept)
        {
            _failures.Add(new CopyOutFailure(item, reason));
        }
        else
        {
            _failuresDropped++;
        }
    }

    private void Report(bool force)
    {
        TimeSpan elapsed = _clock.Elapsed;
        if (!force && elapsed - _lastReport < s_reportEvery)
        {
            return;
        }
        _lastReport = elapsed;
        double rate = _bytesDone / Math.Max(elapsed.TotalSeconds, 0.001);
        TimeSpan? remaining = rate > 0 && _bytesTotal >= _bytesDone ? TimeSpan.FromSeconds((_bytesTotal - _bytesDone) / rate) : null;
        Progress?.Invoke(new ImagingProgress("copy", _bytesDone, _bytesTotal, rate, remaining, 0, elapsed));
    }
}
