using LiveImager.Engine.Imaging;
using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Engine.Tests.Support;

/// <summary>Damages an image file the way a bad sector would: one byte flipped, in a data frame's stored payload or at a given offset.</summary>
public static class FrameDamage
{
    /// <summary>Flips a byte in the middle of the payload of the frame <paramref name="pick"/> chooses from the image's
    /// index (it must hold stored bytes, not a zero run); returns that frame's index entry.</summary>
    public static IndexEntry FlipPayloadByte(string image, Func<ImageFile, IndexEntry> pick)
    {
        IndexEntry entry;
        long payload;
        using (var file = new ImageFile(ImageInput.OpenVolumes(image)))
        {
            entry = pick(file);
            FrameHeader header = file.ReadDataHeader(entry);
            Assert.True(header.StoredLength > 100, $"frame {entry.FrameNumber} holds stored bytes to damage");
            payload = entry.ImageOffset + FrameHeader.Length + (header.StoredLength / 2);
        }
        FlipByte(image, payload, 0x5a);
        return entry;
    }

    /// <summary>Flips the bits of <paramref name="mask"/> in the byte at <paramref name="offset"/> of <paramref name="file"/>.</summary>
    public static void FlipByte(string file, long offset, byte mask = 0x01)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        int old = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(old ^ mask));
    }
}
