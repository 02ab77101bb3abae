using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>Where decoded frames go: a restore target, or a device a verify compares against.</summary>
/// <remarks>Each sink runs on its own thread and sees the frames in disk order. A sink that fails keeps its error and
/// receives nothing more; the other sinks go on (one failing restore target does not stop the others).</remarks>
internal abstract class FrameSink(string name) : IDisposable
{
    public string Name { get; } = name;

    /// <summary>Why this sink stopped, or null while it works.</summary>
    public Exception? Failure { get; set; }

    /// <summary>Raw bytes this sink has taken.</summary>
    public long BytesDone { get; protected set; }

    /// <summary>Takes one frame's checked raw bytes; <paramref name="raw"/> is aligned and at least the frame's length
    /// rounded up to 4096 bytes.</summary>
    public abstract void Write(in FrameHeader frame, Span<byte> raw);

    /// <summary>After the last frame and the footer: finishes the target (tables, flush).</summary>
    public abstract void Complete();

    public abstract void Dispose();
}
