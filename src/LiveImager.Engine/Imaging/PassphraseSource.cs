using System.Security.Cryptography;
using System.Text;
using LiveImager.Formats.ImageFormat;

namespace LiveImager.Engine.Imaging;

/// <summary>Where an encrypted image's passphrase comes from when nobody types it: the first line of a file
/// (<c>--passphrase-file</c>) or <c>LIVEIMAGER_PASSPHRASE</c> (scripts, the unattended mode). Never the command line.</summary>
public static class PassphraseSource
{
    public const string Variable = "LIVEIMAGER_PASSPHRASE";

    /// <summary>Longest passphrase file read: a passphrase is one line, not a key file.</summary>
    private const int MaxFileBytes = 64 * 1024;

    /// <summary>The passphrase from <paramref name="file"/>'s first line, else from <see cref="Variable"/> (looked up with
    /// <paramref name="environment"/>, the process's by default); null when neither gives one.</summary>
    public static ImagePassphrase? From(string? file, Func<string, string?>? environment = null)
    {
        // Every verb that may hold a passphrase starts here (the CLI asks for one only after this), so core dumps stop
        // before any secret is in memory.
        CoreDumps.Forbid();
        if (file is not null)
        {
            return FromFile(file);
        }
        string? value = (environment ?? Environment.GetEnvironmentVariable)(Variable);
        return string.IsNullOrEmpty(value) ? null : Checked(new ImagePassphrase(value), $"${Variable}");
    }

    private static ImagePassphrase FromFile(string file)
    {
        byte[] bytes;
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            bytes = GC.AllocateArray<byte>(MaxFileBytes, pinned: true);
            int length = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            Span<byte> line = bytes.AsSpan(0, length);
            int end = line.IndexOfAny((byte)'\n', (byte)'\r');
            line = end >= 0 ? line[..end] : line;
            char[] chars = GC.AllocateArray<char>(Encoding.UTF8.GetMaxCharCount(line.Length), pinned: true);
            try
            {
                int count = Encoding.UTF8.GetChars(line, chars);
                return Checked(new ImagePassphrase(chars.AsSpan(0, count)), file);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(bytes);
                Array.Clear(chars);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImagingException($"--passphrase-file {file}: {e.Message}");
        }
    }

    private static ImagePassphrase Checked(ImagePassphrase passphrase, string from)
    {
        if (passphrase.IsEmpty)
        {
            passphrase.Dispose();
            throw new ImagingException($"{from} gives an empty passphrase");
        }
        return passphrase;
    }
}
