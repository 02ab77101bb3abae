using Konscious.Security.Cryptography;

namespace LiveImager.Formats.ImageFormat;

/// <summary>Argon2id's cost (RFC 9106): memory in KiB, passes, lanes. Stored in an encrypted image's key header, so a
/// reader derives the same key; bounded before use, so a forged header cannot make a reader allocate or spin without end.</summary>
public readonly record struct KdfParameters(int MemoryKiB, int Iterations, int Parallelism)
{
    /// <summary>RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): about half a second on the live
    /// system's machines, and memory-hard enough that a guessing rig pays 64 MiB per guess.</summary>
    public static KdfParameters Default { get; } = new(64 * 1024, 3, 4);

    /// <summary>The cheapest parameters a reader accepts; tests use them to stay fast. Never the default.</summary>
    public static KdfParameters Minimum { get; } = new(MinMemoryKiB, 1, 1);

    public const int MinMemoryKiB = 8 * 1024;

    /// <summary>1 GiB: more than a live system with 2 GB of RAM should spend on one key.</summary>
    public const int MaxMemoryKiB = 1024 * 1024;

    public const int MaxIterations = 32;
    public const int MaxParallelism = 16;

    /// <summary>The name of the first value out of bounds, or null when all are in bounds.</summary>
    public string? OutOfBounds() =>
        MemoryKiB is < MinMemoryKiB or > MaxMemoryKiB ? $"memory {MemoryKiB} KiB must be {MinMemoryKiB}..{MaxMemoryKiB}"
        : Iterations is < 1 or > MaxIterations ? $"iterations {Iterations} must be 1..{MaxIterations}"
        : Parallelism is < 1 or > MaxParallelism ? $"parallelism {Parallelism} must be 1..{MaxParallelism}"
        : null;

    /// <summary>Derives a 32-byte key from <paramref name="passphrase"/> and <paramref name="salt"/>; the caller zeroes it.</summary>
    internal byte[] Derive(ReadOnlySpan<byte> passphrase, ReadOnlySpan<byte> salt)
    {
        if (OutOfBounds() is { } problem)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryKiB), problem);
        }
        byte[] password = GC.AllocateArray<byte>(passphrase.Length, pinned: true);
        passphrase.CopyTo(password);
        try
        {
            using var argon = new Argon2id(password)
            {
                Salt = salt.ToArray(),
                MemorySize = MemoryKiB,
                Iterations = Iterations,
                DegreeOfParallelism = Parallelism,
            };
            return argon.GetBytes(ImageKey.KeyLength);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(password);
        }
    }
}
