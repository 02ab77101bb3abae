using LiveImager.Formats;
using LiveImager.Formats.Media;
using Serilog;

namespace LiveImager.Engine.Devices;

/// <summary>Recognises the medium the live system booted from by the ISO 9660 volume id its kernel command line names
/// (<c>liveimager.medium=YYYY-MM-DD-HH-mm-ss-cc</c>), even when live-boot copied it to RAM and unmounted it.</summary>
public sealed class BootMediumProbe
{
    /// <summary>The kernel parameter the live medium's boot entries set to their build's volume id.</summary>
    public const string Parameter = "liveimager.medium";

    // A disk that does not answer within this time is not the medium: the stick just booted us and answers at once.
    private static readonly TimeSpan s_readTimeout = TimeSpan.FromSeconds(3);

    private BootMediumProbe(string volumeId) => VolumeId = volumeId;

    /// <summary>The volume id to look for, as <c>blkid -s UUID -o value</c> prints it.</summary>
    public string VolumeId { get; }

    /// <summary>The probe the command line asks for, or null when it names no medium.</summary>
    public static BootMediumProbe? From(KernelCommandLine commandLine) =>
        commandLine[Parameter] is { Length: > 0 } id ? new BootMediumProbe(id) : null;

    /// <summary>True when the whole disk <paramref name="devicePath"/> carries the volume id. A disk that cannot be
    /// read, or not in time, is not the medium.</summary>
    public bool Matches(string devicePath)
    {
        Task<string?> read = Task.Run(() => ReadVolumeId(devicePath));
        try
        {
            return read.Wait(s_readTimeout) && read.Result == VolumeId;
        }
        catch (AggregateException e)
        {
            Log.Debug("Boot medium probe: {Device} unreadable: {Problem}", devicePath, e.InnerException?.Message);
            return false;
        }
    }

    private static string? ReadVolumeId(string devicePath)
    {
        var head = new byte[Iso9660PrimaryVolumeDescriptor.DiskHeadBytes];
        int length;
        using (var stream = new FileStream(devicePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
        {
            length = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        ReadOnlySpan<byte> descriptor = head.AsSpan(0, length)[(int)Math.Min(Iso9660PrimaryVolumeDescriptor.DiskOffset, length)..];
        if (!Iso9660PrimaryVolumeDescriptor.IsPresent(descriptor))
        {
            return null;
        }
        try
        {
            return Iso9660PrimaryVolumeDescriptor.Parse(descriptor).VolumeId;
        }
        catch (DiskFormatException e)
        {
            Log.Debug("Boot medium probe: {Device}: {Problem}", devicePath, e.Message);
            return null;
        }
    }
}
