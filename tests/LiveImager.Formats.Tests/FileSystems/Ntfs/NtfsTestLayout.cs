using System.Buffers.Binary;

namespace LiveImager.Formats.Tests.FileSystems.Ntfs;

/// <summary>Where a fresh mkntfs volume keeps the structures the corruption tests damage, found independently of the
/// module under test: boot sector fields, and a plain walk of an MFT record's attributes.</summary>
/// <remarks>Only for volumes mkntfs just made, whose first MFT records lie in one run from mft_lcn.</remarks>
public sealed class NtfsTestLayout
{
    private readonly string _image;

    public NtfsTestLayout(string image)
    {
        _image = image;
        var boot = Bytes(0, 512).AsSpan();
        int bytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(boot[0x0B..]);
        int sectorsPerCluster = boot[0x0D];
        ClusterSize = bytesPerSector * sectorsPerCluster;
        ClusterCount = BinaryPrimitives.ReadInt64LittleEndian(boot[0x28..]) / sectorsPerCluster;
        long mftLcn = BinaryPrimitives.ReadInt64LittleEndian(boot[0x30..]);
        sbyte perRecord = (sbyte)boot[0x40];
        RecordSize = perRecord > 0 ? perRecord * ClusterSize : 1 << -perRecord;
        MftOffset = mftLcn * ClusterSize;
        MftMirrOffset = BinaryPrimitives.ReadInt64LittleEndian(boot[0x38..]) * ClusterSize;
    }

    public int ClusterSize { get; }

    public long ClusterCount { get; }

    public int RecordSize { get; }

    public long MftOffset { get; }

    /// <summary>Where $MFTMirr, the copy of records 0..3, starts.</summary>
    public long MftMirrOffset { get; }

    /// <summary>Byte offset of MFT record <paramref name="number"/> in the image.</summary>
    public long RecordOffset(int number) => MftOffset + (long)number * RecordSize;

    /// <summary>Byte offset in the image of the first attribute of <paramref name="type"/> in record <paramref name="number"/>.</summary>
    public long AttributeOffset(int number, uint type)
    {
        long record = RecordOffset(number);
        var bytes = Bytes(record, RecordSize).AsSpan();
        int offset = BinaryPrimitives.ReadUInt16LittleEndian(bytes[0x14..]);
        while (true)
        {
            uint found = BinaryPrimitives.ReadUInt32LittleEndian(bytes[offset..]);
            if (found == type)
            {
                return record + offset;
            }
            if (found == 0xFFFFFFFF)
            {
                throw new InvalidOperationException($"record {number} has no attribute 0x{type:X}");
            }
            offset += BinaryPrimitives.ReadInt32LittleEndian(bytes[(offset + 4)..]);
        }
    }

    /// <summary>Byte offset in the image of the first cluster of record <paramref name="number"/>'s unnamed $DATA.</summary>
    public long FirstDataCluster(int number)
    {
        long attribute = AttributeOffset(number, 0x80);
        long pairs = attribute + BinaryPrimitives.ReadUInt16LittleEndian(Bytes(attribute + 0x20, 2));
        byte header = Bytes(pairs, 1)[0];
        int lengthBytes = header & 0x0F;
        int lcnBytes = header >> 4;
        var field = Bytes(pairs + 1 + lengthBytes, lcnBytes);
        long lcn = (sbyte)field[^1];
        for (int i = field.Length - 2; i >= 0; i--)
        {
            lcn = (lcn << 8) | field[i];
        }
        return lcn * ClusterSize;
    }

    /// <summary>The bytes of the image at <paramref name="offset"/>.</summary>
    public byte[] Bytes(long offset, int length)
    {
        using var stream = File.OpenRead(_image);
        var bytes = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Overwrites bytes of <paramref name="image"/> at <paramref name="offset"/>.</summary>
    public static void Patch(string image, long offset, ReadOnlySpan<byte> bytes)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Write);
        stream.Position = offset;
        stream.Write(bytes);
    }
}
