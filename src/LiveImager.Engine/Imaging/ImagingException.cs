namespace LiveImager.Engine.Imaging;

/// <summary>An imaging job refused or failed for a reason a person can act on; the message says what and why.</summary>
public class ImagingException(string message, Exception? inner = null) : Exception(message, inner);
