using LiveImager.Formats.Media;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.Media;

/// <summary>The volume id of a real xorriso image, and every way a descriptor can be corrupt.</summary>
public sealed class Iso9660PrimaryVolumeDescriptorTests
{
    /// <summary>xorriso stamps the id given to <c>-volume_date uuid</c> (a native command, so before <c>-as mkisofs</c>),
    /// and blkid reads the same one back.</summary>
    [SkippableFact]
    public void ReadsTheVolumeIdXorrisoWroteAsBlkidSpellsIt()
    {
        ExternalTool.Require("xorriso", "xorriso");
        using var scratch = new ScratchDirectory();
        Directory.CreateDirectory(scratch.File("root"));
        File.WriteAllText(scratch.File("root/hello.txt"), "hello");
        string iso = scratch.File("medium.iso");
        ExternalTool.Run("xorriso", "-volume_date", "uuid", "2026112512345678", "-as", "mkisofs", "-quiet", "-o", iso, scratch.File("root"));
        byte[] descriptor = ReadDescriptor(iso);

        Assert.True(Iso9660PrimaryVolumeDescriptor.IsPresent(descriptor));
        Assert.Equal("2026-11-25-12-34-56-78", Iso9660PrimaryVolumeDescriptor.Parse(descriptor).VolumeId);
        if (ExternalTool.Exists("blkid"))
        {
            Assert.Equal("2026-11-25-12-34-56-78", ExternalTool.Run("blkid", "-p", "-s", "UUID", "-o", "value", iso).Trim());
        }
    }

    [Fact]
    public void ADiskWithoutTheIdentifierIsNoIsoRatherThanACorruptOne()
    {
        byte[] descriptor = Descriptor("2026112512000000", 0);
        descriptor[3] = (byte)'X';
        Assert.False(Iso9660PrimaryVolumeDescriptor.IsPresent(descriptor));
        Assert.False(Iso9660PrimaryVolumeDescriptor.IsPresent(new byte[Iso9660PrimaryVolumeDescriptor.Size]));
        Assert.False(Iso9660PrimaryVolumeDescriptor.IsPresent(Descriptor("2026112512000000", 0).AsSpan(0, 100)));
        var error = Assert.Throws<DiskFormatException>(() => Iso9660PrimaryVolumeDescriptor.Parse(descriptor));
        Assert.Equal("ISO 9660 primary volume descriptor: type and standard identifier = 1 CDX01 at byte 32768: not 1 CD001", error.Message);
    }

    [Fact]
    public void ATooShortDescriptorIsRefused()
    {
        var error = Assert.Throws<DiskFormatException>(() => Iso9660PrimaryVolumeDescriptor.Parse(new byte[100]));
        Assert.Equal("ISO 9660 primary volume descriptor: 100 bytes given, a descriptor is 2048", error.Message);
    }

    [Fact]
    public void AnUnknownDescriptorVersionIsRefused()
    {
        byte[] descriptor = Descriptor("2026112512000000", 0);
        descriptor[6] = 2;
        var error = Assert.Throws<DiskFormatException>(() => Iso9660PrimaryVolumeDescriptor.Parse(descriptor));
        Assert.Equal("ISO 9660 primary volume descriptor: volume descriptor version = 2 at byte 32774: only version 1 is defined", error.Message);
    }

    [Fact]
    public void ACreationDateWithANonDigitIsRefusedNamingTheByte()
    {
        var error = Assert.Throws<DiskFormatException>(() => Iso9660PrimaryVolumeDescriptor.Parse(Descriptor("20261125X2000000", 0)));
        Assert.Equal("ISO 9660 primary volume descriptor: volume creation date = 20261125X2000000 at byte 33589: byte 8 is not an ASCII digit",
            error.Message);
    }

    [Fact]
    public void ATimeZoneOutOfRangeIsRefused()
    {
        var error = Assert.Throws<DiskFormatException>(() => Iso9660PrimaryVolumeDescriptor.Parse(Descriptor("2026112512000000", 53)));
        Assert.Equal("ISO 9660 primary volume descriptor: volume creation time zone = 53 at byte 33597: outside -48..52 quarter hours",
            error.Message);
    }

    [Theory]
    [InlineData(-48)]
    [InlineData(0)]
    [InlineData(52)]
    public void EveryTimeZoneInRangeGivesTheSameId(int quarterHours)
    {
        Assert.Equal("2026-11-25-12-00-00-00", Iso9660PrimaryVolumeDescriptor.Parse(Descriptor("2026112512000000", (sbyte)quarterHours)).VolumeId);
    }

    [Fact]
    public void AnUnspecifiedDateGivesNoId()
    {
        Assert.Null(Iso9660PrimaryVolumeDescriptor.Parse(Descriptor("0000000000000000", 0)).VolumeId);
        byte[] zeros = Descriptor("0000000000000000", 0);
        zeros.AsSpan(0x32D, 16).Clear();
        Assert.Null(Iso9660PrimaryVolumeDescriptor.Parse(zeros).VolumeId);
    }

    private static byte[] ReadDescriptor(string iso)
    {
        byte[] descriptor = new byte[Iso9660PrimaryVolumeDescriptor.Size];
        using var stream = File.OpenRead(iso);
        stream.Position = Iso9660PrimaryVolumeDescriptor.DiskOffset;
        stream.ReadExactly(descriptor);
        return descriptor;
    }

    // A primary descriptor with only the fields the parser reads filled in (ECMA-119 §8.4).
    private static byte[] Descriptor(string date, sbyte timeZone)
    {
        byte[] descriptor = new byte[Iso9660PrimaryVolumeDescriptor.Size];
        descriptor[0] = 1;
        "CD001"u8.CopyTo(descriptor.AsSpan(1));
        descriptor[6] = 1;
        System.Text.Encoding.ASCII.GetBytes(date).CopyTo(descriptor.AsSpan(0x32D));
        descriptor[0x32D + 16] = unchecked((byte)timeZone);
        return descriptor;
    }
}
