namespace LiveImager.Formats.ImageFormat;

/// <summary>An encrypted image could not be opened: no passphrase was given, or it is not the image's.</summary>
/// <remarks>Not a <see cref="DiskFormatException"/>: the image may be whole, and the fix is the person's, not a copy's.</remarks>
public sealed class ImagePassphraseException(string message) : Exception(message)
{
    /// <summary>True when a passphrase was tried and refused (rather than none given).</summary>
    public bool Refused { get; init; }
}
