using LiveImager.Formats.FileSystems;

namespace LiveImager.Formats.Tests.Support;

/// <summary>The round-trip proof: copy only what an analysis says is used onto a blank file, then let fsck judge it.</summary>
public static class UsedBlockCopy
{
    /// <summary>Creates <paramref name="destination"/> as a sparse file as large as <paramref name="source"/> and copies
    /// into it the used byte runs of the partition at [<paramref name="partitionOffset"/>, +<paramref name="partitionBytes"/>).</summary>
    /// <returns>The number of bytes copied.</returns>
    public static long Copy(string source, string destination, FileSystemAnalysis analysis, long partitionOffset, long partitionBytes)
    {
        using var input = new FileStream(source, FileMode.Open, FileAccess.Read);
        using var output = new FileStream(destination, FileMode.OpenOrCreate, FileAccess.Write);
        if (output.Length < input.Length)
        {
            output.SetLength(input.Length);
        }
        var buffer = new byte[1 << 20];
        long copied = 0;
        foreach (var (offset, length) in analysis.UsedByteRuns(partitionBytes))
        {
            long done = 0;
            while (done < length)
            {
                int chunk = (int)Math.Min(buffer.Length, length - done);
                input.Position = partitionOffset + offset + done;
                input.ReadExactly(buffer, 0, chunk);
                output.Position = partitionOffset + offset + done;
                output.Write(buffer, 0, chunk);
                done += chunk;
            }
            copied += length;
        }
        return copied;
    }
}
