using LiveImager.Engine.Imaging;
using LiveImager.Formats.ImageFormat;
using Xunit;

namespace LiveImager.Engine.Tests.Support;

/// <summary>Damages one data frame of an image file the way a bad sector would: one byte of its stored payload flipped.</summary>
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
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = payload;
        int old = stream.ReadByte();
        stream.Position = payload;
        stream.WriteByte((byte)(old ^ 0x5a));
        return entry;
    }
}
