using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>The earlier image an incremental capture (<c>capture --base</c>) is made on: its index and chunk hashes
/// decide, without reading its data, which chunks of the source are unchanged and become reference frames.</summary>
/// <remarks>A chunk is unchanged when the base has a data frame at the same disk position and length whose XXH3-64
/// and XXH3-128 both equal the source chunk's: the frames are cut on the same grid (never across a chunk boundary,
/// from the same used-block runs), so two captures of an unchanged region cut the same frames. Read-only after
/// <see cref="Open"/>, so every capture worker asks at once.</remarks>
public sealed class IncrementalBase : IDisposable
{
    private readonly ImageFile _file;
    private readonly IReadOnlyList<IndexEntry> _entries;
    private readonly IReadOnlyList<UInt128> _hashes;

    private IncrementalBase(string name, ImageFile file, ChunkHashes hashes)
    {
        Name = name;
        _file = file;
        _entries = file.Index.Entries;
        _hashes = hashes.Hashes;
    }

    /// <summary>The base's file name, as the new image records it.</summary>
    public string Name { get; }

    public Guid ImageId => _file.Header.ImageId;

    /// <summary>Opens the base <paramref name="options"/> names and checks that the new image can be made on it: beside
    /// the new image (restore finds the chain there), complete (its own bases present and right), holding chunk
    /// hashes, not encrypted, and captured from a disk of the same size, table and partitions as
    /// <paramref name="metadata"/> describes. Refuses with the reason before anything is written.</summary>
    public static IncrementalBase Open(CaptureOptions options, ImageMetadata metadata, int chunkSize)
    {
        string baseOption = options.Base ?? throw new ArgumentException("no base given", nameof(options));
        if (options.Image == "-")
        {
            throw new ImagingException("an incremental image is written beside its base, in a file: not to standard output");
        }
        if (options.Passphrase is not null || options.Forensic is not null)
        {
            throw new ImagingException(options.Forensic is not null
                ? "a forensic capture stands alone: it cannot be incremental (--base)"
                : "an encrypted image cannot be incremental yet: capture it in full (without --base), or leave out --encrypt");
        }
        string name = Path.GetFileName(baseOption);
        string path = ImageChain.Sibling(options.Image, name);
        if (baseOption.Contains('/') && !SamePlace(baseOption, path))
        {
            throw new ImagingException($"the base {baseOption} is not in the folder of the new image {options.Image}: restore looks for the " +
                "chain beside the image, so keep every image of a chain in one folder or store");
        }
        if (!File.Exists(path) && Targets.S3Store.Find(path) is null)
        {
            throw new ImagingException($"the base image {path} does not exist");
        }
        ImageFile file;
        try
        {
            file = new ImageFile(ImageInput.OpenVolumes(path));
        }
        catch (ImagePassphraseException)
        {
            throw new ImagingException($"the base image {path} is encrypted; an incremental image cannot be made on an encrypted one yet");
        }
        catch (Exception e) when (e is DiskFormatException or IOException)
        {
            throw new ImagingException($"the base image {path} cannot be read: {e.Message}", e);
        }
        try
        {
            if (file.Hashes is not { } hashes)
            {
                throw new ImagingException($"the base image {path} is format {file.Header.Version}, written before images kept chunk hashes " +
                    $"(format {ImageHeader.ChunkHashesVersion}): capture a full image first and make incremental ones on it");
            }
            // Its own chain must be whole: an image made on a broken chain could never be restored.
            using (ImageChain.Open(path, file.Header, file.Metadata))
            {
            }
            string? difference = Difference(file.Metadata, metadata, file.Header.ChunkSize, chunkSize);
            if (difference is not null)
            {
                throw new ImagingException($"the base image {path} was not captured from this disk as it is laid out now ({difference}); " +
                    "capture a full image (without --base), or choose the base captured from this disk");
            }
            return new IncrementalBase(name, file, hashes);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>What the new image's metadata records of its base.</summary>
    public BaseImage Describe() => new() { ImageId = ImageId, Name = Name, CreatedUtc = _file.Metadata.CreatedUtc };

    /// <summary>The reference frame for the source bytes <paramref name="raw"/> at <paramref name="position"/> when the
    /// base holds the same bytes there; null when they changed (or the base has no frame cut alike).</summary>
    public EncodedPayload? Reference(long position, ReadOnlySpan<byte> raw)
    {
        int i = ImageChain.Find(_entries, position);
        if (i < 0 || _entries[i].RawLength != raw.Length)
        {
            return null;
        }
        ulong checksum = ImageChecksum.Of(raw);
        if (checksum != _entries[i].RawChecksum)
        {
            return null;
        }
        UInt128 hash = ImageChecksum.ContentHashOf(raw);
        return hash == _hashes[i] ? new EncodedPayload(FrameEncoding.Reference, raw.Length, 0, checksum, hash) : null;
    }

    /// <summary>Why an image of <paramref name="now"/> cannot be made on <paramref name="earlier"/>, or null.</summary>
    private static string? Difference(ImageMetadata earlier, ImageMetadata now, int earlierChunk, int chunk)
    {
        if (earlier.Source.SizeBytes != now.Source.SizeBytes)
        {
            return $"it was {earlier.Source.SizeBytes} bytes, this disk is {now.Source.SizeBytes}";
        }
        if (earlierChunk != chunk)
        {
            return $"its chunk size is {earlierChunk}, this capture's {chunk}";
        }
        if (earlier.Table.Kind != now.Table.Kind)
        {
            return $"its partition table was {earlier.Table.Kind}, this disk's is {now.Table.Kind}";
        }
        string Layout(ImageMetadata m) => string.Join(", ", m.Partitions.Select(p => $"{p.Number}: {p.StartBytes}+{p.SizeBytes}"));
        string before = Layout(earlier);
        string after = Layout(now);
        return before == after ? null : $"its partitions were [{before}], this disk's are [{after}]";
    }

    private static bool SamePlace(string given, string beside) =>
        given.Contains("://", StringComparison.Ordinal) || beside.Contains("://", StringComparison.Ordinal)
            ? given == beside
            : Path.GetFullPath(given) == Path.GetFullPath(beside);

    public void Dispose() => _file.Dispose();
}
