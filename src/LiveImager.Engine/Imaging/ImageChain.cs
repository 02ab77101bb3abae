using LiveImager.Formats;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>The base images an incremental image's reference frames are read from (docs/image-format.md
/// "Incremental images"): found beside the image by the names the metadata records, each checked by its image id
/// before anything is read from it; nearest base first, the full image last.</summary>
/// <remarks>Thread-safe: each base is read under its own lock, and the caller decodes with its own decoder, so the
/// workers of a restore read from several bases at once.</remarks>
public sealed class ImageChain : IDisposable
{
    /// <summary>Most bases a chain may have: far beyond weekly images kept for a year; a longer one is consolidated.</summary>
    public const int MaxLinks = 256;

    private readonly List<Link> _links;

    private ImageChain(List<Link> links)
    {
        _links = links;
    }

    /// <summary>The bases, nearest first: each one's path and opened file.</summary>
    public IReadOnlyList<(string Path, ImageFile File)> Links => [.. _links.Select(l => (l.Path, l.File))];

    /// <summary>Opens the chain of the image at <paramref name="imagePath"/>, whose metadata names
    /// <paramref name="metadata"/>'s base; refuses, naming the image, a base that is missing, replaced by another image
    /// (another id), damaged, encrypted, or of another disk. Returns null for an image that is not incremental.</summary>
    public static ImageChain? Open(string imagePath, ImageHeader header, ImageMetadata metadata)
    {
        if (!header.IsIncremental || metadata.Base is null)
        {
            return null;
        }
        if (ImageInput.IsStream(imagePath))
        {
            throw new ImagingException($"{imagePath} is an incremental image (captured on {metadata.Base.Name}): its base images are read " +
                "beside it, so it is opened from its store, not from standard input or a multicast session; or consolidate it first (liveimager consolidate)");
        }
        var links = new List<Link>();
        try
        {
            BaseImage? next = metadata.Base;
            string child = imagePath;
            while (next is not null)
            {
                if (links.Count == MaxLinks)
                {
                    throw new ImagingException($"{imagePath} has more than {MaxLinks} base images; consolidate it (liveimager consolidate)");
                }
                string path = Sibling(child, next.Name);
                ImageFile file = OpenBase(path, child, next);
                links.Add(new Link(path, file));
                if (file.Header.ImageId != next.ImageId)
                {
                    throw new ImagingException($"{path} is another image (id {file.Header.ImageId}, captured {file.Metadata.CreatedUtc:u}), not the base " +
                        $"{Path.GetFileName(child)} was captured on (id {next.ImageId}, captured {next.CreatedUtc:u}): it was replaced or overwritten. " +
                        "The chain needs that very image");
                }
                if (file.Header.ChunkSize != header.ChunkSize || file.Metadata.Source.SizeBytes != metadata.Source.SizeBytes)
                {
                    throw new ImagingException($"the base image {path} does not fit {Path.GetFileName(child)}: its chunk size or source disk size differs");
                }
                if (links.Take(links.Count - 1).Any(l => l.File.Header.ImageId == file.Header.ImageId))
                {
                    throw new ImagingException($"the chain of {imagePath} loops back to {path}");
                }
                next = file.Metadata.Base;
                child = path;
            }
            return new ImageChain(links);
        }
        catch
        {
            foreach (Link link in links)
            {
                link.File.Dispose();
            }
            throw;
        }
    }

    /// <summary>Where a base named <paramref name="name"/> lies: beside <paramref name="image"/>, a path or a store URL.</summary>
    public static string Sibling(string image, string name)
    {
        int slash = image.LastIndexOf('/');
        return slash < 0 ? name : image[..(slash + 1)] + name;
    }

    private static ImageFile OpenBase(string path, string child, BaseImage expected)
    {
        try
        {
            return new ImageFile(ImageInput.OpenVolumes(path));
        }
        catch (FileNotFoundException)
        {
            throw new ImagingException($"{Path.GetFileName(child)} is incremental on {expected.Name} (image id {expected.ImageId}, captured " +
                $"{expected.CreatedUtc:u}), which is not at {path}: every image of a chain must stay in the same store and folder");
        }
        catch (ImagePassphraseException)
        {
            throw new ImagingException($"the base image {path} is encrypted; an incremental image's bases are not (it is another image)");
        }
        catch (Exception e) when (e is DiskFormatException or IOException)
        {
            throw new ImagingException($"the base image {path} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Reads the bytes the reference frame <paramref name="reference"/> stands for from the nearest base that
    /// stores them, decodes them with <paramref name="decoder"/> into <paramref name="raw"/> and checks them; each base
    /// frame's checksum must be the reference's. <paramref name="stored"/> is scratch of chunk size.</summary>
    public void Read(in FrameHeader reference, FrameDecoder decoder, Span<byte> stored, Span<byte> raw)
    {
        FrameHeader frame = ReadStored(reference, stored, out string holder);
        try
        {
            decoder.Decode(frame, stored, raw);
        }
        catch (DiskFormatException e)
        {
            throw InBase(reference, e, holder);
        }
    }

    /// <summary>The base frame that holds <paramref name="reference"/>'s bytes, its stored payload read into
    /// <paramref name="stored"/> undecoded (consolidate copies it as it is), and the path of the base it is in.</summary>
    public FrameHeader ReadStored(in FrameHeader reference, Span<byte> stored, out string holder)
    {
        foreach (Link link in _links)
        {
            IReadOnlyList<IndexEntry> entries = link.File.Index.Entries;
            int i = Find(entries, reference.Position);
            if (i < 0 || entries[i].RawLength != reference.RawLength || entries[i].RawChecksum != reference.RawChecksum)
            {
                throw new DiskFormatException(reference.Describe(), "base frame", reference.Position, reference.ImageOffset,
                    $"the base image {link.Path} holds no frame at disk bytes {reference.Position}+{reference.RawLength} with the same checksum: " +
                    "the chain does not fit together");
            }
            FrameHeader frame;
            try
            {
                lock (link)
                {
                    frame = link.File.ReadDataHeader(entries[i]);
                    if (frame.Encoding != FrameEncoding.Reference)
                    {
                        link.File.ReadPayload(frame, stored);
                    }
                }
            }
            catch (DiskFormatException e)
            {
                throw InBase(reference, e, link.Path);
            }
            if (frame.Encoding == FrameEncoding.Reference && link.File.Header.IsIncremental)
            {
                continue;
            }
            holder = link.Path;
            return frame;
        }
        throw new DiskFormatException(reference.Describe(), "base frame", reference.Position, reference.ImageOffset,
            "no image of the chain stores these bytes");
    }

    /// <summary>Checks, before anything is written, every frame header the image's references lead to in the chain
    /// (<see cref="ImageFile.CheckDataFrameHeaders"/> on each base, then each reference resolved to a stored frame).</summary>
    public void CheckFrameHeaders(ImageFile image, CancellationToken cancellationToken)
    {
        foreach (Link link in _links)
        {
            try
            {
                link.File.CheckDataFrameHeaders(cancellationToken);
            }
            catch (DiskFormatException e)
            {
                throw new ImagingException($"the base image {link.Path} is damaged: {e.Message}", e);
            }
        }
        foreach (IndexEntry entry in image.Index.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            FrameHeader frame = image.ReadDataHeader(entry);
            if (frame.Encoding == FrameEncoding.Reference)
            {
                Locate(frame);
            }
        }
    }

    /// <summary>Finds the stored frame of a reference by its headers alone.</summary>
    private void Locate(in FrameHeader reference)
    {
        foreach (Link link in _links)
        {
            IReadOnlyList<IndexEntry> entries = link.File.Index.Entries;
            int i = Find(entries, reference.Position);
            if (i < 0 || entries[i].RawLength != reference.RawLength || entries[i].RawChecksum != reference.RawChecksum)
            {
                throw new ImagingException($"{reference.Describe()} refers to the base image {link.Path}, which holds no frame at disk bytes " +
                    $"{reference.Position}+{reference.RawLength} with the same checksum: the chain does not fit together");
            }
            FrameHeader frame;
            lock (link)
            {
                frame = link.File.ReadDataHeader(entries[i]);
            }
            if (frame.Encoding != FrameEncoding.Reference)
            {
                return;
            }
        }
        throw new ImagingException($"{reference.Describe()}: no image of the chain stores these bytes");
    }

    /// <summary>The entry at disk position <paramref name="position"/>, by binary search (entries are in disk order), or -1.</summary>
    public static int Find(IReadOnlyList<IndexEntry> entries, long position)
    {
        int low = 0;
        int high = entries.Count - 1;
        while (low <= high)
        {
            int middle = low + (high - low) / 2;
            long at = entries[middle].DiskPosition;
            if (at == position)
            {
                return middle;
            }
            if (at < position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }
        return -1;
    }

    private static DiskFormatException InBase(in FrameHeader reference, DiskFormatException e, string path) =>
        new($"base image {path}", $"{e.Message} (read for {reference.Describe()})");

    public void Dispose()
    {
        foreach (Link link in _links)
        {
            link.File.Dispose();
        }
    }

    private sealed record Link(string Path, ImageFile File);
}
