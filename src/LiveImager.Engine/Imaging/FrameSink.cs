using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>Where decoded frames go: a restore target, or a device a verify compares against.</summary>
/// <remarks>Each sink has its own <see cref="Writers"/> threads: with one, it sees the frames in disk order; with more,
/// several frames (never overlapping) are written at once, in any order. A sink that fails keeps its error and
/// receives nothing more; the other sinks go on (one failing restore target does not stop the others).</remarks>
internal abstract class FrameSink(string name) : IDisposable
{
    private long _bytesTaken;
    private long _bytesDone;
    private Exception? _failure;

    public string Name { get; } = name;

    /// <summary>Why this sink stopped, or null while it works. Set on the sink's thread, read by the others.</summary>
    public Exception? Failure
    {
        get => Volatile.Read(ref _failure);
        set => Volatile.Write(ref _failure, value);
    }

    /// <summary>How many threads call <see cref="Write"/> at once: 1 (the default) keeps the frames in disk order; a
    /// sink whose writes are independent returns more, so that several are in flight on its device.</summary>
    public virtual int Writers => 1;

    /// <summary>Raw bytes this sink has written or compared. Read from other threads.</summary>
    public long BytesDone => Interlocked.Read(ref _bytesDone);

    /// <summary>Counts bytes written or compared; safe from several writer threads.</summary>
    protected void CountDone(long bytes) => Interlocked.Add(ref _bytesDone, bytes);

    /// <summary>The image's raw bytes this sink has dealt with, written or not (past the end of a smaller disk): what
    /// its progress counts, so that a sink that kept up ends at the image's total. Read from other threads.</summary>
    public long BytesTaken => Interlocked.Read(ref _bytesTaken);

    /// <summary>Counts a frame this sink has dealt with.</summary>
    public void CountTaken(long bytes) => Interlocked.Add(ref _bytesTaken, bytes);

    /// <summary>Takes one frame's checked raw bytes; <paramref name="raw"/> is aligned and at least the frame's length
    /// rounded up to 4096 bytes.</summary>
    public abstract void Write(in FrameHeader frame, Span<byte> raw);

    /// <summary>After the last frame and the footer: finishes the target (tables, flush).</summary>
    public abstract void Complete();

    public abstract void Dispose();
}
