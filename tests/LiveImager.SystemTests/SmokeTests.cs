using System.Text.Json;
using System.Text.RegularExpressions;
using LiveImager.Engine.Tests.Support;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.SystemTests;

/// <summary>Runs the published AOT binary as a user would.</summary>
[Collection(SystemTestCollection.Name)]
public sealed class SmokeTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public SmokeTests()
    {
        // Keep the binary's log out of the home directory of whoever runs the tests; the child inherits this.
        Environment.SetEnvironmentVariable("LIVEIMAGER_LOG_DIR", _scratch.File("log"));
    }

    public void Dispose() => _scratch.Dispose();

    [SkippableFact]
    public void VersionPrintsTheProductVersion()
    {
        string binary = PublishedBinary.Require();
        string output = ExternalTool.Run(binary, "--version");
        Assert.Matches(new Regex(@"^\d+\.\d+\.\d+"), output.Trim());
    }

    [SkippableFact]
    public void ListJsonDescribesEveryDiskTheKernelReports()
    {
        string binary = PublishedBinary.Require();
        using JsonDocument document = PublishedBinary.ListJson(binary);
        Assert.Equal(JsonValueKind.Array, document.RootElement.ValueKind);
        foreach (JsonElement disk in document.RootElement.EnumerateArray())
        {
            string name = disk.GetProperty("name").GetString()!;
            Assert.Equal($"/dev/{name}", disk.GetProperty("path").GetString());
            Assert.Equal(long.Parse(File.ReadAllText($"/sys/block/{name}/size")) * 512, disk.GetProperty("sizeBytes").GetInt64());
            Assert.Equal(int.Parse(File.ReadAllText($"/sys/block/{name}/queue/logical_block_size")), disk.GetProperty("logicalSectorSize").GetInt32());
            Assert.Equal(int.Parse(File.ReadAllText($"/sys/block/{name}/queue/physical_block_size")), disk.GetProperty("physicalSectorSize").GetInt32());
            Assert.False(string.IsNullOrEmpty(disk.GetProperty("transport").GetString()));
            foreach (string field in (string[])["vendor", "model", "serial", "inUseReason"])
            {
                Assert.Contains(disk.GetProperty(field).ValueKind, (JsonValueKind[])[JsonValueKind.String, JsonValueKind.Null]);
            }
            foreach (string field in (string[])["removable", "readOnly", "rotational", "inUse"])
            {
                Assert.Contains(disk.GetProperty(field).ValueKind, (JsonValueKind[])[JsonValueKind.True, JsonValueKind.False]);
            }
            Assert.Equal(disk.GetProperty("inUse").GetBoolean(), disk.GetProperty("inUseReason").ValueKind == JsonValueKind.String);
            foreach (JsonElement partition in disk.GetProperty("partitions").EnumerateArray())
            {
                string partitionName = partition.GetProperty("name").GetString()!;
                Assert.StartsWith(name, partitionName);
                Assert.Equal($"/dev/{partitionName}", partition.GetProperty("path").GetString());
                Assert.True(partition.GetProperty("number").GetInt32() > 0);
                Assert.Equal(long.Parse(File.ReadAllText($"/sys/block/{name}/{partitionName}/start")) * 512, partition.GetProperty("startBytes").GetInt64());
                Assert.Equal(long.Parse(File.ReadAllText($"/sys/block/{name}/{partitionName}/size")) * 512, partition.GetProperty("sizeBytes").GetInt64());
            }
        }
        Assert.NotEmpty(Directory.GetFiles(_scratch.File("log"), "liveimager-*.log"));
    }

    [SkippableFact]
    public void ListJsonReportsTheDiskHoldingTheRootFilesystemInUse()
    {
        string binary = PublishedBinary.Require();
        string? rootDevice = File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .FirstOrDefault(fields => fields.Length > 4 && fields[4] == "/")?[2];
        Skip.If(rootDevice is null || rootDevice.StartsWith("0:", StringComparison.Ordinal), "/ is not on a block device here");
        using JsonDocument document = PublishedBinary.ListJson(binary);
        JsonElement holder = document.RootElement.EnumerateArray().Single(disk =>
            File.ReadAllText($"/sys/block/{disk.GetProperty("name").GetString()}/dev").Trim() == rootDevice
            || disk.GetProperty("partitions").EnumerateArray().Any(partition =>
                File.ReadAllText($"/sys/class/block/{partition.GetProperty("name").GetString()}/dev").Trim() == rootDevice));
        Assert.True(holder.GetProperty("inUse").GetBoolean());
        Assert.Matches(new Regex(@"is mounted at /(,|;|$)"), holder.GetProperty("inUseReason").GetString());
    }

    [SkippableFact]
    public void ListJsonShowsAnAttachedLoopDevice()
    {
        string binary = PublishedBinary.Require();
        LoopDevice.RequireRoot();
        using var loop = LoopDevice.Attach(_scratch.SparseFile("disk.img", 48L * 1024 * 1024));
        using JsonDocument document = PublishedBinary.ListJson(binary);
        JsonElement disk = document.RootElement.EnumerateArray().Single(disk => disk.GetProperty("name").GetString() == loop.Name);
        Assert.Equal(loop.Path, disk.GetProperty("path").GetString());
        Assert.Equal("loop", disk.GetProperty("transport").GetString());
        Assert.Equal(48L * 1024 * 1024, disk.GetProperty("sizeBytes").GetInt64());
        Assert.Equal(loop.BackingFile, disk.GetProperty("model").GetString());
        Assert.False(disk.GetProperty("inUse").GetBoolean());
    }
}
