using LiveImager.Engine.Imaging;
using LiveImager.Engine.Opening;

namespace LiveImager.Tui;

/// <summary>The seam to the imaging jobs the CLI runs too; each call runs off the UI thread and reports progress.</summary>
internal interface IJobRunner
{
    Task<JobOutcome> CaptureAsync(CaptureRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken);

    Task<JobOutcome> RestoreAsync(RestoreRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken);

    /// <param name="passphrase">An encrypted image's passphrase; the verify screen owns it and zeroes it when it closes.</param>
    Task<JobOutcome> VerifyAsync(string imagePath, IProgress<JobProgress> progress, CancellationToken cancellationToken,
        Formats.ImageFormat.ImagePassphrase? passphrase = null);

    /// <summary>Mounts every partition of the image read-only for browsing, as <c>liveimager mount</c> does.</summary>
    /// <param name="passphrase">An encrypted image's passphrase, handed to the image's server on a pipe; the caller
    /// zeroes it once this returns (the mount needs it no longer).</param>
    Task<OpenedImage> OpenImageAsync(ImageSummary image, CancellationToken cancellationToken,
        Formats.ImageFormat.ImagePassphrase? passphrase = null);

    /// <summary>Undoes <see cref="OpenImageAsync"/>: unmounts, detaches, stops the server; returns what could not be undone.</summary>
    IReadOnlyList<string> CloseImage(OpenedImage image);

    /// <summary>Copies the marked files and folders of a mounted partition into a directory.</summary>
    Task<JobOutcome> CopyOutAsync(CopyOutRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken);

    /// <summary>Sends one image to every machine that joins, as <c>liveimager multicast</c> does (docs/multicast.md).</summary>
    Task<JobOutcome> MulticastSendAsync(MulticastSendRequest request, IProgress<MulticastProgress> progress, CancellationToken cancellationToken);

    /// <summary>Receives a multicast session onto one disk, as <c>liveimager restore multicast://… DISK</c> does.</summary>
    Task<JobOutcome> MulticastReceiveAsync(MulticastReceiveRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken);
}

/// <summary>What the multicast send screen collected: the image, the interface (null: the default route's), and when
/// to start: with <paramref name="MinReceivers"/> joined, or <paramref name="MaxWait"/> after the first.</summary>
internal sealed record MulticastSendRequest(string ImagePath, string? Interface, int? MinReceivers, TimeSpan? MaxWait,
    int PortBase = Engine.Multicast.MulticastAddress.DefaultPortBase);

/// <summary>What the multicast receive screen collected: the session's multicast:// address and the disk it overwrites.</summary>
internal sealed record MulticastReceiveRequest(string Address, DiskChoice Target);

/// <summary>A multicast session as it goes: who joined (and who was dropped), whether the transfer started, and the
/// bytes sent with rate and time left once it has.</summary>
internal sealed record MulticastProgress(IReadOnlyList<MulticastPeer> Receivers, bool Started, long BytesSent, long BytesTotal, double BytesPerSecond,
    TimeSpan? Remaining);

/// <summary>One receiver as the sender sees it: udpcast's number, its address, and whether it was dropped.</summary>
internal sealed record MulticastPeer(int Number, string Address, bool Dropped);

/// <summary>An image opened for browsing: the directory its partitions are mounted under, and each partition.</summary>
internal sealed record OpenedImage(string Directory, IReadOnlyList<BrowsedPartition> Partitions);

/// <summary>What the browse screen collected: a mounted partition, the marked items relative to its mount point, and
/// the directory they are copied into under their own names.</summary>
internal sealed record CopyOutRequest(BrowsedPartition Partition, IReadOnlyList<string> Items, string Destination);

/// <summary>What the capture wizard collected: the disk, where the image goes and how it is written.</summary>
/// <param name="Rescue">Go on past unreadable sectors (the technician chose it after the first read error).</param>
/// <param name="Passphrase">Encrypt the image under it; the capture screen owns it and zeroes it when it closes.</param>
internal sealed record CaptureRequest(DiskChoice Source, string StorePath, string ImageName, int CompressionLevel, long SplitBytes, bool VerifyAfter,
    bool Rescue = false, Formats.ImageFormat.ImagePassphrase? Passphrase = null, string? Base = null);

/// <summary>What the restore or deploy wizard collected, after the technician typed the targets' names: one image
/// written to every target from one read, as the CLI's <c>restore IMAGE T1 T2 ...</c>.</summary>
/// <param name="Passphrase">An encrypted image's passphrase, already checked; the wizard owns it and zeroes it when it closes.</param>
/// <param name="Fit">Onto one disk smaller than the image needs, its partitions shrunk to fit (<c>restore --fit</c>).</param>
internal sealed record RestoreRequest(ImageSummary Image, IReadOnlyList<DiskChoice> Targets, Formats.ImageFormat.ImagePassphrase? Passphrase = null,
    bool Fit = false);

/// <summary>One progress report of a running job; a restore's also carries each target disk's own figures.</summary>
/// <param name="BadAreas">A rescue capture's unreadable areas so far, and their bytes in <paramref name="UnreadableBytes"/>.</param>
/// <param name="Step">What the job does while it copies no bytes ("shrinking partition 3 (ext4) with resize2fs"), else null.</param>
internal sealed record JobProgress(long BytesDone, long BytesTotal, double BytesPerSecond, TimeSpan? Remaining, string? CurrentPartition,
    IReadOnlyList<DiskProgress>? Disks = null, int BadAreas = 0, long UnreadableBytes = 0, string? Step = null);

/// <summary>One target disk of a restore: the image's bytes it has taken, its rate and time left, its state, and a
/// failed disk's error in plain words.</summary>
internal sealed record DiskProgress(string Disk, RestoreTargetState State, long BytesDone, long BytesTotal, double BytesPerSecond,
    TimeSpan? Remaining, string? Error);

/// <summary>How a job ended: its figures on success, or the error in plain words; and where its log is.</summary>
/// <param name="UnreadableDisk">The capture stopped at a sector the disk would not give back: a rescue capture may go on.</param>
internal sealed record JobOutcome(bool Succeeded, IReadOnlyList<string> Figures, string? Error, string? LogPath, bool UnreadableDisk = false)
{
    /// <summary>How the result screen says that a failed job with figures did part of its work.</summary>
    public string PartlyDone { get; init; } = "not on every disk";
}
