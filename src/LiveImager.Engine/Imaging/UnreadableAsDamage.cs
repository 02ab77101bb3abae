using LiveImager.Engine.Devices;
using LiveImager.Formats;

namespace LiveImager.Engine.Imaging;

/// <summary>The source disk as the partition-table reader and the filesystem modules see it during a capture: a sector
/// the disk will not give back (EIO) is damaged metadata to them, a <see cref="DiskFormatException"/>, so their
/// documented fallbacks apply with a warning (the GPT backup for an unreadable primary header; a whole copy of a
/// filesystem whose allocation metadata cannot be read) instead of the capture failing before it starts. The data
/// reads that follow meet the same sectors and stop, or with --rescue record them.</summary>
internal sealed class UnreadableAsDamage(BlockDevice disk) : IBlockSource
{
    public long Length => disk.Length;

    public void ReadAt(long offset, Span<byte> destination)
    {
        try
        {
            disk.ReadAt(offset, destination);
        }
        catch (DeviceIoException e) when (RescueReader.IsMediumError(e))
        {
            throw new DiskFormatException("disk", "sector", offset / disk.LogicalSectorSize, offset,
                $"cannot be read ({e.Message}): the disk has unreadable sectors");
        }
    }
}
