using LiveImager.Engine.Targets;
using LiveImager.Formats.ImageFormat;
using Serilog;

namespace LiveImager.Engine.Imaging;

/// <summary>Where a capture writes: standard output, or <c>IMAGE.partial</c> (and its volumes) renamed to <c>IMAGE</c>
/// only after the footer is flushed (DESIGN.md invariant 3).</summary>
internal sealed class ImageOutput : IDisposable
{
    private const int BufferBytes = 1 << 20;
    private readonly string? _finalPath;
    private readonly string? _partialPath;
    private readonly string? _objectName;
    private readonly List<string> _partialVolumes = [];
    private readonly Stream _raw;
    private bool _committed;

    /// <summary>Opens the output for <paramref name="path"/> ("-" = <paramref name="standardOutput"/>), refusing to
    /// replace an existing image unless <paramref name="force"/>.</summary>
    /// <param name="expectedBytes">The image's worst-case size, which sizes an S3 upload's parts.</param>
    public ImageOutput(string path, long splitBytes, bool force, Guid imageId, Func<Stream> standardOutput, long expectedBytes = 0)
    {
        if (S3Store.Find(path) is { } objects)
        {
            if (splitBytes > 0)
            {
                throw new ImagingException("--split does not apply to an s3:// store: an object holds up to 5 TiB, so the image is one object");
            }
            // Uploaded in parts as it is written; the object appears under its name only at Commit.
            _objectName = path;
            _raw = objects.Create(path, force, expectedBytes);
        }
        else if (path == "-")
        {
            if (splitBytes > 0)
            {
                throw new ImagingException("an image written to standard output cannot be split into volumes");
            }
            _raw = standardOutput();
        }
        else
        {
            _finalPath = Path.GetFullPath(path);
            _partialPath = _finalPath + ".partial";
            if (force && ImageCatalog.Dependents(_finalPath) is { Count: > 0 } dependents)
            {
                throw new ImagingException($"{path} is the base of {string.Join(", ", dependents)}: replacing it would leave " +
                    (dependents.Count == 1 ? "that incremental image" : "those incremental images") +
                    " without their base. Choose another name, or consolidate them first (liveimager consolidate)");
            }
            RemoveExisting(_finalPath, force);
            RemoveExisting(_partialPath, force: true);
            _raw = splitBytes > 0
                ? new VolumeWriterStream(n => CreatePartialVolume(VolumeLayout.VolumePath(_partialPath, n)), MakeDurable, splitBytes, imageId)
                : CreatePartialVolume(_partialPath);
        }
        Stream = new BufferedStream(_raw, BufferBytes);
    }

    /// <summary>The logical image stream to hand to <see cref="ImageWriter"/>.</summary>
    public Stream Stream { get; }

    /// <summary>The image's final name, or "-" for standard output.</summary>
    public string Name => _finalPath ?? _objectName ?? "-";

    private static void RemoveExisting(string imagePath, bool force)
    {
        // A link counts as there even when it points nowhere: it is replaced (with --force), never written through.
        for (int n = 1; File.Exists(VolumeLayout.VolumePath(imagePath, n)) || new FileInfo(VolumeLayout.VolumePath(imagePath, n)).LinkTarget is not null; n++)
        {
            string volume = VolumeLayout.VolumePath(imagePath, n);
            if (!force)
            {
                throw new ImagingException($"{volume} already exists; choose another name or pass --force to replace it");
            }
            File.Delete(volume);
        }
    }

    private FileStream CreatePartialVolume(string path)
    {
        _partialVolumes.Add(path);
        // 0600 from creation: a whole-disk image holds password hashes and mail. A link in the image's place (a store's
        // server may put one there) is refused, never written through; --force removed it above, not its target.
        return PrivateFiles.CreateNew(path);
    }

    /// <summary>Flushes <paramref name="stream"/> to stable storage: fsync for a file (a volume, or the one image file);
    /// for a stream of volumes, each volume as it is finished; a pipe only flushes.</summary>
    private static void MakeDurable(Stream stream)
    {
        if (stream is FileStream file)
        {
            file.Flush(flushToDisk: true);
        }
        else
        {
            stream.Flush();
        }
    }

    /// <summary>After the footer: flushes everything to stable storage, then gives the volumes their final names,
    /// the first volume last, so the image's name appears only when the whole image is there.</summary>
    public void Commit()
    {
        Stream.Flush();
        if (_raw is S3UploadStream upload)
        {
            upload.Complete();
        }
        MakeDurable(_raw);
        _raw.Dispose();
        if (_finalPath is not null)
        {
            for (int n = _partialVolumes.Count; n >= 1; n--)
            {
                File.Move(_partialVolumes[n - 1], VolumeLayout.VolumePath(_finalPath, n));
            }
        }
        _committed = true;
    }

    /// <summary>Closes the output; an image not committed is deleted, so nothing is left that looks like an image.</summary>
    public void Dispose()
    {
        if (_committed)
        {
            return;
        }
        try
        {
            _raw.Dispose();
        }
        catch (IOException)
        {
            // A full store fails the final flush as well; the files are deleted below either way.
        }
        foreach (string volume in _partialVolumes)
        {
            try
            {
                File.Delete(volume);
            }
            catch (IOException e)
            {
                // A store that vanished mid-job (network gone) cannot delete; the file keeps its .partial name, and
                // the job's own error, not this one, is what the user must see.
                Log.Warning("Could not remove the unfinished {Volume}: {Problem}", volume, e.Message);
            }
        }
    }
}
