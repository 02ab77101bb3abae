namespace LiveImager.Engine.Targets;

/// <summary>What went wrong with an image store, in the terms a person can act on.</summary>
public enum StoreProblem
{
    /// <summary>The location is not a URL this tool understands.</summary>
    BadLocation,
    /// <summary>The server does not answer: wrong address, no network, server off.</summary>
    HostUnreachable,
    /// <summary>The server answers but has no such share, export, directory or device.</summary>
    NotFound,
    /// <summary>The server refused the user name, password or key.</summary>
    LoginRefused,
    /// <summary>Logged in (or mounted), but not allowed to read or write there.</summary>
    PermissionDenied,
    /// <summary>This system cannot mount this kind of store (kernel support or tool missing).</summary>
    Unsupported,
    /// <summary>The store is the disk being captured or restored, or otherwise must not be used.</summary>
    Refused,
    /// <summary>The image cannot fit in the store's free space.</summary>
    Full,
    /// <summary>The mount tool failed for a reason not recognised; the message carries its own words.</summary>
    MountFailed,
}

/// <summary>An image store could not be used; the message is plain words naming the store (never a password).</summary>
public sealed class StoreException(StoreProblem problem, string message, Exception? inner = null) : IOException(message, inner)
{
    public StoreProblem Problem { get; } = problem;
}
