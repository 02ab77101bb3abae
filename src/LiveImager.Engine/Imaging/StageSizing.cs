using System.Globalization;

namespace LiveImager.Engine.Imaging;

/// <summary>How many workers and pool buffers a job's <see cref="OrderedStage"/> gets, from the machine it runs on:
/// a worker per core, and as many buffers as keep them busy, within a share of the memory available.</summary>
internal static class StageSizing
{
    /// <summary>The fewest buffers a stage runs with, however little memory there is: enough that reading, working
    /// and writing overlap.</summary>
    public const int MinimumBuffers = 4;

    /// <summary>The pool never takes more than this, whatever the machine: 128 buffers of a 4 MiB chunk and its
    /// compressed copy, far beyond what any number of cores keeps busy.</summary>
    private const long MaxPoolBytes = 1L << 30;

    /// <summary>The share of available memory the pool may take: a live system runs from RAM, and its page cache
    /// and the store's client need the rest.</summary>
    private const int MemoryShare = 8;

    /// <summary>Workers that compress or decode: one per core.</summary>
    public static int CpuWorkers => Math.Max(1, Environment.ProcessorCount);

    /// <summary>Workers beyond the cores for a stage whose workers also wait on a device: while these wait on a read,
    /// the others keep every core busy, so several reads are in flight (a quarter of the cores, at least 2).</summary>
    public static int IoWorkers => Math.Max(2, Environment.ProcessorCount / 4);

    /// <summary>The buffer count for <paramref name="wanted"/> buffers of <paramref name="bufferBytes"/> each: no more
    /// than an eighth of the available memory (and 1 GiB) holds, and never fewer than <see cref="MinimumBuffers"/>.</summary>
    public static int Buffers(int wanted, int bufferBytes)
    {
        long budget = Math.Min(MaxPoolBytes, AvailableMemoryBytes() / MemoryShare);
        long fits = budget / bufferBytes;
        return (int)Math.Max(MinimumBuffers, Math.Min(wanted, fits));
    }

    /// <summary>Memory the kernel says is available without swapping (/proc/meminfo MemAvailable), or what the
    /// runtime says the process may use when that file cannot be read.</summary>
    public static long AvailableMemoryBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                // "MemAvailable:   23917244 kB"
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kib)
                        && kib is > 0 and < long.MaxValue / 1024)
                    {
                        return kib * 1024;
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }
}
