using System.Security.Cryptography;
using System.Text;

namespace LiveImager.Formats.ImageFormat;

/// <summary>An image's passphrase as UTF-8 bytes in pinned memory (never moved, so never left behind by the GC),
/// zeroed on <see cref="Dispose"/>. It keeps the last key it derived, so a verb that opens an image twice (restore:
/// the check, then the stream) runs the slow KDF once.</summary>
public sealed class ImagePassphrase : IDisposable
{
    private readonly byte[] _utf8;
    private byte[]? _lastSalt;
    private KdfParameters _lastParameters;
    private byte[]? _lastKey;

    /// <summary>Takes the characters of <paramref name="passphrase"/>; the caller clears its own copy.</summary>
    public ImagePassphrase(ReadOnlySpan<char> passphrase)
    {
        _utf8 = GC.AllocateArray<byte>(Encoding.UTF8.GetByteCount(passphrase), pinned: true);
        Encoding.UTF8.GetBytes(passphrase, _utf8);
    }

    /// <summary>The KDF cost used when this passphrase encrypts a new image; readers always use the image's own.</summary>
    public KdfParameters NewImageKdf { get; init; } = KdfParameters.Default;

    public bool IsEmpty => _utf8.Length == 0;

    /// <summary>The key-encryption key for <paramref name="salt"/> and <paramref name="parameters"/>, into
    /// <paramref name="destination"/> (32 bytes).</summary>
    internal void DeriveKey(ReadOnlySpan<byte> salt, KdfParameters parameters, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_lastKey is null || _lastParameters != parameters || !salt.SequenceEqual(_lastSalt))
        {
            Forget();
            byte[] derived = parameters.Derive(_utf8, salt);
            _lastKey = GC.AllocateArray<byte>(derived.Length, pinned: true);
            derived.CopyTo(_lastKey, 0);
            CryptographicOperations.ZeroMemory(derived);
            _lastSalt = salt.ToArray();
            _lastParameters = parameters;
        }
        _lastKey.CopyTo(destination);
    }

    private bool _disposed;

    private void Forget()
    {
        if (_lastKey is not null)
        {
            CryptographicOperations.ZeroMemory(_lastKey);
        }
        _lastKey = null;
        _lastSalt = null;
    }

    /// <summary>Writes the passphrase as one line to <paramref name="destination"/>: for a child process of this same
    /// program, over a pipe it inherits (never its arguments or environment), which reads it as <c>--passphrase-file</c>
    /// reads a file's first line.</summary>
    public void WriteLineTo(Stream destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_utf8.AsSpan().IndexOfAny((byte)'\n', (byte)'\r') >= 0)
        {
            throw new ArgumentException("the passphrase holds a line break, so it cannot be handed on as one line");
        }
        destination.Write(_utf8);
        destination.WriteByte((byte)'\n');
        destination.Flush();
    }

    /// <summary>True when both hold the same characters (the capture's "type it again").</summary>
    public bool SameAs(ImagePassphrase other) => CryptographicOperations.FixedTimeEquals(_utf8, other._utf8);

    public void Dispose()
    {
        Forget();
        CryptographicOperations.ZeroMemory(_utf8);
        _disposed = true;
    }
}
