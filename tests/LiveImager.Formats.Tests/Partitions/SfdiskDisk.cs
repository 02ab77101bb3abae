using System.Text.Json;
using System.Text.RegularExpressions;
using LiveImager.Formats.Tests.Support;
using Xunit;

namespace LiveImager.Formats.Tests.Partitions;

/// <summary>Partitioned test disks made by sfdisk on sparse files, and sfdisk's own reading of them as the oracle.</summary>
public static partial class SfdiskDisk
{
    /// <summary>A partition as <c>sfdisk --json</c> lists it: number from the node name, sectors, type as printed.</summary>
    public sealed record SfdiskPartition(int Number, long Start, long Size, string Type, string? Uuid, string? Name);

    /// <summary>Creates a sparse file of <paramref name="bytes"/> bytes and partitions it with the sfdisk
    /// <paramref name="script"/>.</summary>
    public static string Create(ScratchDirectory scratch, string name, long bytes, string script)
    {
        string path = scratch.SparseFile(name, bytes);
        ExternalTool.RunWithInput("sfdisk", script, "--quiet", "--no-reread", "--no-tell-kernel", path);
        return path;
    }

    /// <summary>What <c>sfdisk --json</c> reports for <paramref name="path"/> (file or device).</summary>
    public static IReadOnlyList<SfdiskPartition> Partitions(string path)
    {
        using var json = JsonDocument.Parse(ExternalTool.Run("sfdisk", "--json", path));
        var list = new List<SfdiskPartition>();
        foreach (var p in json.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray())
        {
            list.Add(new SfdiskPartition(
                int.Parse(TrailingNumber().Match(p.GetProperty("node").GetString()!).Value),
                p.GetProperty("start").GetInt64(),
                p.GetProperty("size").GetInt64(),
                p.GetProperty("type").GetString()!,
                p.TryGetProperty("uuid", out var uuid) ? uuid.GetString() : null,
                p.TryGetProperty("name", out var name) ? name.GetString() : null));
        }
        return list;
    }

    /// <summary>The last usable LBA sfdisk reports for a GPT disk.</summary>
    public static long LastLba(string path)
    {
        using var json = JsonDocument.Parse(ExternalTool.Run("sfdisk", "--json", path));
        return json.RootElement.GetProperty("partitiontable").GetProperty("lastlba").GetInt64();
    }

    /// <summary>True for the MBR extended partition types sfdisk prints.</summary>
    public static bool IsExtendedType(string type) => type is "5" or "f" or "85";

    /// <summary>Overwrites <paramref name="data"/>.Length bytes of <paramref name="path"/> at <paramref name="offset"/>.</summary>
    public static void Patch(string path, long offset, ReadOnlySpan<byte> data)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.Position = offset;
        stream.Write(data);
    }

    /// <summary>Reads <paramref name="count"/> bytes of <paramref name="path"/> at <paramref name="offset"/>.</summary>
    public static byte[] ReadBytes(string path, long offset, int count)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        stream.Position = offset;
        var buffer = new byte[count];
        stream.ReadExactly(buffer);
        return buffer;
    }

    [GeneratedRegex(@"\d+$")]
    private static partial Regex TrailingNumber();
}

/// <summary>A loop device over a file with a chosen logical sector size, detached on dispose. Needs root.</summary>
public sealed class LoopDevice : IDisposable
{
    private LoopDevice(string path) => Path = path;

    public string Path { get; }

    /// <summary>Skips the calling test unless it runs as root with losetup available.</summary>
    public static void RequireRoot()
    {
        ExternalTool.Require("losetup", "mount");
        Privileges.RequireLoopDevices("needs root to attach a loop device with 4096-byte sectors");
    }

    public static LoopDevice Attach(string file, int sectorSize) =>
        new(ExternalTool.Run("losetup", "--sector-size", sectorSize.ToString(), "--find", "--show", file).Trim());

    public void Dispose() => ExternalTool.Run("losetup", "--detach", Path);
}
