using System.Diagnostics;
using System.Security.Cryptography;
using LiveImager.Formats.ImageFormat;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>Issue #24 through the published binary: a forged image and a hostile or mistyped store URL get a clear error
/// and a non-zero exit from every verb, never an exception trace, and nothing is written.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class HostileInputTests : IDisposable
{
    private const long DiskBytes = 1L << 20;

    private readonly ScratchDirectory _scratch = new();

    public HostileInputTests()
    {
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    public static TheoryData<string, long> Forgeries() => new()
    {
        // The case: a 1 MiB partition claiming 2^40 blocks made verify --against die with OverflowException.
        { "blockCount", 1L << 40 },
        { "blockCount", -1 },
        { "blockCount", long.MaxValue },
        { "blockCount", 1L << 31 },
        { "startBytes", 1L << 40 },
        { "sizeBytes", long.MaxValue },
        { "usedBlocks", 0 },
        { "dataBytes", 0 },
    };

    [SkippableTheory]
    [MemberData(nameof(Forgeries))]
    public void AForgedImageIsRefusedByEveryReaderAndTheTargetIsUntouched(string field, long value)
    {
        string binary = PublishedBinary.Require();
        string disk = MakeDisk();
        string captured = _scratch.File("captured.lim");
        ExternalTool.Run(binary, "capture", disk, captured);
        string forged = _scratch.File("forged.lim");
        Forge(captured, forged, field, value);
        Assert.True(new FileInfo(forged).Length < 4096, $"the forged image is {new FileInfo(forged).Length} bytes");
        // Not the source's bytes, so that a restore that wrote anything would show.
        string target = _scratch.File("target.img");
        File.WriteAllBytes(target, Enumerable.Repeat((byte)0xA5, (int)DiskBytes).ToArray());
        byte[] before = SHA256.HashData(File.ReadAllBytes(target));

        string[][] verbs =
        [
            ["info", forged],
            ["verify", forged],
            ["verify", forged, "--against", disk],
            ["restore", forged, target, "--yes"],
        ];
        foreach (string[] verb in verbs)
        {
            ToolResult result = ExternalTool.RunUnchecked(binary, null, verb);
            string said = result.StandardError + result.StandardOutput;
            Assert.True(result.ExitCode != 0, $"{string.Join(' ', verb)} exited 0: {said}");
            Assert.Contains(field, said);
            Assert.Contains("image metadata", said);
            Assert.DoesNotContain("Unhandled exception", said);
            Assert.DoesNotContain("   at ", said);
        }
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(target)));
    }

    [SkippableTheory]
    [InlineData("smb:/host/share/x.lim", "smb://[domain;]user@host[:port]/share/path")]
    [InlineData("nfs:host/export/x.lim", "nfs://host[:port]/export/path")]
    [InlineData("smb://anna@nas/images/..%2F..%2F..%2F..%2Fetc/pc.lim", "a '/' may not be escaped")]
    [InlineData("smb://anna@nas/img,ip=10.9.9.9,sec=none/pc.lim", "may not hold ','")]
    [InlineData("ftp://host/x.lim", "the scheme 'ftp' is not supported")]
    public void ABadStoreUrlIsRefusedAndNothingIsCreated(string url, string message)
    {
        string binary = PublishedBinary.Require();
        string disk = MakeDisk();
        string work = Directory.CreateDirectory(_scratch.File("work")).FullName;

        var start = new ProcessStartInfo(binary, ["capture", disk, url])
        {
            WorkingDirectory = work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start)!;
        string said = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        Assert.True(process.ExitCode == 2, $"exited {process.ExitCode}, not 2 (usage): {said}");
        Assert.Contains(message, said);
        Assert.DoesNotContain("   at ", said);
        Assert.Empty(Directory.GetFileSystemEntries(work));
    }

    /// <summary>A 1 MiB disk with one MBR partition that holds no filesystem (copied whole).</summary>
    private string MakeDisk()
    {
        ExternalTool.Require("sfdisk", "fdisk");
        string disk = _scratch.SparseFile("disk.img", DiskBytes);
        ExternalTool.RunWithInput("sfdisk", "label: dos\nstart=64, size=1984, type=83\n", "-q", disk);
        return disk;
    }

    /// <summary>Writes <paramref name="image"/> again with one number of its metadata changed: the frames and their
    /// checksums are all sound, only what the metadata claims is a lie.</summary>
    private static void Forge(string image, string forged, string field, long value)
    {
        var usedMaps = new List<(uint Partition, byte[] Bitmap)>();
        using (var stream = File.OpenRead(image))
        using (var reader = new ImageReader(stream) { UsedMapRead = (frame, bitmap) => usedMaps.Add((frame.Tag, bitmap)) })
        {
            reader.ReadToEnd();
        }
        using var file = new ImageFile(File.OpenRead(image));
        ImageMetadata metadata = file.Metadata;
        PartitionInfo partition = metadata.Partitions[0];
        metadata = field switch
        {
            "blockCount" => metadata with { Partitions = [partition with { BlockCount = value }] },
            "startBytes" => metadata with { Partitions = [partition with { StartBytes = value }] },
            "sizeBytes" => metadata with { Partitions = [partition with { SizeBytes = value }] },
            "usedBlocks" => metadata with { Partitions = [partition with { UsedBlocks = value }] },
            _ => metadata with { DataBytes = value },
        };
        using var output = File.Create(forged);
        var header = new ImageHeader(ImageHeaderFlags.None, Guid.NewGuid(), file.Header.ChunkSize, 0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var writer = new ImageWriter(output, header);
        using var encoder = new FrameEncoder(3);
        writer.WriteMetadata(metadata, encoder);
        foreach (var group in usedMaps.GroupBy(m => m.Partition))
        {
            writer.WriteUsedMap((int)group.Key, group.SelectMany(m => m.Bitmap).ToArray(), encoder);
        }
        var raw = new byte[file.Header.ChunkSize];
        var stored = new byte[file.Header.ChunkSize];
        foreach (IndexEntry entry in file.Index.Entries)
        {
            file.ReadData(entry, raw);
            writer.WriteData(entry.DiskPosition, encoder.Encode(raw.AsSpan(0, entry.RawLength), stored), stored);
        }
        writer.Finish(file.ReadLog(), encoder);
    }
}
