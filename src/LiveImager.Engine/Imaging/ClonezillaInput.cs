using System.Diagnostics;
using System.IO.Compression;
using LiveImager.Engine.Targets;
using LiveImager.Formats;
using LiveImager.Formats.Clonezilla;
using ZstdSharp;

namespace LiveImager.Engine.Imaging;

/// <summary>A Clonezilla image directory's files: the directory read into a <see cref="ClonezillaImage"/>, and each
/// partition's stream with its pieces joined and its compression undone.</summary>
/// <remarks>zstd (ZstdSharp) and gzip (System.IO.Compression) are decoded in process. xz, lzma, bzip2, lz4, lzop, lzip
/// and lrzip have no managed decoder that is NativeAOT-clean and maintained, so Debian's own tool decodes them as a
/// child process (found in the system directories only, <see cref="StoreTools"/>), fed the joined pieces on its
/// standard input; a tool that fails is an error with its message.</remarks>
public static class ClonezillaInput
{
    /// <summary>True when <paramref name="path"/> is a directory that looks like a Clonezilla image.</summary>
    public static bool IsClonezillaDirectory(string path)
    {
        try
        {
            return Directory.Exists(path) && ClonezillaImage.Looks(Names(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Reads the directory's names and small files.</summary>
    /// <exception cref="DiskFormatException">Not an image this LiveImager restores, with why.</exception>
    public static ClonezillaImage Open(string directory) => ClonezillaImage.Parse(Names(directory), name => ReadText(directory, name));

    /// <summary>A small file of the image (a table dump, the MBR), bounded.</summary>
    public static byte[] ReadSmall(string directory, string name, int maxBytes)
    {
        string path = Path.Combine(directory, name);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        if (stream.Length > maxBytes)
        {
            throw new DiskFormatException($"Clonezilla image file {name}", $"is {stream.Length} bytes, more than the {maxBytes} it may be");
        }
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The partition's decompressed stream: its pieces joined, then decoded by its compression.</summary>
    public static Stream OpenPartition(string directory, ClonezillaPartitionImage image)
    {
        var joined = new JoinedFiles([.. image.Pieces.Select(p => Path.Combine(directory, p))]);
        try
        {
            return image.Compression switch
            {
                "uncomp" => joined,
                "zst" => new BufferedStream(new DecompressionStream(joined), 1 << 20),
                "gz" => new BufferedStream(new GZipStream(joined, CompressionMode.Decompress), 1 << 20),
                "xz" or "lzma" => new ChildDecoder(joined, "xz", ["-dc"], image.Describe()),
                "bz2" => new ChildDecoder(joined, "bzip2", ["-dc"], image.Describe()),
                "lz4" => new ChildDecoder(joined, "lz4", ["-dc"], image.Describe()),
                "lzo" => new ChildDecoder(joined, "lzop", ["-dc"], image.Describe()),
                "lzip" => new ChildDecoder(joined, "lzip", ["-dc"], image.Describe()),
                "lrz" => new ChildDecoder(joined, "lrzip", ["-d", "-q"], image.Describe()),
                _ => throw new DiskFormatException($"Clonezilla image of {image.Device}", $"unknown compression {image.Compression}"),
            };
        }
        catch
        {
            joined.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="read"/> with a decoder's complaint about damaged compressed data turned into the
    /// domain exception naming the partition and its file.</summary>
    public static T Guard<T>(ClonezillaPartitionImage image, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is ZstdException or InvalidDataException)
        {
            throw new DiskFormatException($"Clonezilla image of {image.Describe()}",
                $"its {image.Compression} compression is damaged: {e.Message}");
        }
        catch (EndOfStreamException)
        {
            throw new DiskFormatException($"Clonezilla image of {image.Describe()}",
                $"its {image.Compression} stream ends early: the image is truncated or a piece is missing");
        }
        catch (FileNotFoundException e)
        {
            throw new DiskFormatException($"Clonezilla image of {image.Describe()}", $"a piece is missing: {e.Message}");
        }
    }

    private static List<string> Names(string directory)
    {
        var names = new List<string>();
        foreach (string path in Directory.EnumerateFiles(directory))
        {
            names.Add(Path.GetFileName(path));
            if (names.Count > ClonezillaImage.MaxFiles)
            {
                break;
            }
        }
        return names;
    }

    private static string ReadText(string directory, string name) =>
        System.Text.Encoding.UTF8.GetString(ReadSmall(directory, name, ClonezillaImage.MaxTextFile));

    /// <summary>Files read one after another as one stream: the .aa, .ab… pieces of a split.</summary>
    private sealed class JoinedFiles(IReadOnlyList<string> paths) : ForwardReadStream
    {
        private int _index = -1;
        private FileStream? _current;

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                if (_current is null)
                {
                    if (++_index >= paths.Count)
                    {
                        return 0;
                    }
                    _current = new FileStream(paths[_index], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                }
                int read = _current.Read(buffer);
                if (read > 0 || buffer.IsEmpty)
                {
                    return read;
                }
                _current.Dispose();
                _current = null;
            }
        }


        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _current?.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>A decompressor run as a child process: <paramref name="input"/> copied to its standard input on a
    /// thread of its own, its standard output read as this stream; at the end its exit code is checked.</summary>
    private sealed class ChildDecoder : ForwardReadStream
    {
        private readonly Process _process;
        private readonly Stream _input;
        private readonly Thread _feeder;
        private readonly Task<string> _errors;
        private readonly string _tool;
        private readonly string _what;
        private Exception? _feedError;
        private bool _ended;

        public ChildDecoder(Stream input, string tool, IReadOnlyList<string> arguments, string what)
        {
            _input = input;
            _tool = tool;
            _what = what;
            string program = StoreTools.Find(tool)
                ?? throw new ImagingException($"{what} is compressed with {tool}, which is not installed (apt-get install {tool})");
            ProcessStartInfo info = StoreTools.PipedStart(program, arguments);
            _process = Process.Start(info) ?? throw new ImagingException($"cannot start {program}");
            _errors = _process.StandardError.ReadToEndAsync();
            _feeder = new Thread(Feed) { IsBackground = true, Name = $"{tool} input" };
            _feeder.Start();
        }

        private void Feed()
        {
            try
            {
                using Stream stdin = _process.StandardInput.BaseStream;
                _input.CopyTo(stdin, 1 << 20);
            }
            catch (Exception e)
            {
                // A decoder that stopped early closes its input; its exit code says why. A missing piece is ours.
                if (e is not IOException || e is FileNotFoundException)
                {
                    _feedError = e;
                }
            }
        }

        public override int Read(Span<byte> buffer)
        {
            if (_ended)
            {
                return 0;
            }
            int read = _process.StandardOutput.BaseStream.Read(buffer);
            if (read == 0 && !buffer.IsEmpty)
            {
                _ended = true;
                _feeder.Join();
                _process.WaitForExit();
                if (_feedError is not null)
                {
                    throw new ImagingException($"{_what}: {_feedError.Message}", _feedError);
                }
                if (_process.ExitCode != 0)
                {
                    string message = _errors.Wait(TimeSpan.FromSeconds(5)) ? _errors.Result.Trim() : string.Empty;
                    throw new DiskFormatException($"Clonezilla image of {_what}",
                        $"{_tool} could not decompress it (exit code {_process.ExitCode}): {message}");
                }
            }
            return read;
        }


        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }
                _process.WaitForExit();
                _feeder.Join();
                _process.Dispose();
                _input.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
