using LiveImager.Tui;

namespace LiveImager.Tui.Tests.Support;

/// <summary>A job runner whose job the test drives: it records the request, reports what the test sends and ends, or
/// throws, when told.</summary>
internal sealed class ScriptedJobs : IJobRunner
{
    private TaskCompletionSource<JobOutcome> _end = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<IProgress<JobProgress>> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<IProgress<MulticastProgress>> _sending = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public object? Request { get; private set; }

    public CancellationToken Token { get; private set; }

    public IProgress<JobProgress> Progress => _started.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    /// <summary>A multicast session's progress, once the session screen has started it.</summary>
    public IProgress<MulticastProgress> Sending => _sending.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    public void End(JobOutcome outcome) => _end.SetResult(outcome);

    /// <summary>Gets ready for the next job, after the last one ended: a screen that starts another (a capture again
    /// in rescue mode).</summary>
    public void Reset()
    {
        Request = null;
        _end = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Ends the job by throwing <paramref name="failure"/> from it, as a job that fails outside the Engine's runner.</summary>
    public void Fail(Exception failure) => _end.SetException(failure);

    public Task<JobOutcome> CaptureAsync(CaptureRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        Run(request, progress, cancellationToken);

    public Task<JobOutcome> RestoreAsync(RestoreRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        Run(request, progress, cancellationToken);

    public Task<JobOutcome> VerifyAsync(string imagePath, IProgress<JobProgress> progress, CancellationToken cancellationToken,
        LiveImager.Formats.ImageFormat.ImagePassphrase? passphrase = null) =>
        Run(imagePath, progress, cancellationToken);

    /// <summary>What <see cref="OpenImageAsync"/> hands the browse screen: partitions whose mount points are the
    /// test's own directories.</summary>
    public OpenedImage? Image { get; set; }

    /// <summary>The images the screen opened and then closed, in order.</summary>
    public List<OpenedImage> Closed { get; } = [];

    /// <summary>The passphrase the image must be opened with (an encrypted image's), as the real catalog checks it.</summary>
    public string? ImagePassphrase { get; set; }

    /// <summary>How many times the screen tried to open an image, and whether each came with a passphrase.</summary>
    public List<bool> OpenedWithPassphrase { get; } = [];

    public Task<OpenedImage> OpenImageAsync(ImageSummary image, CancellationToken cancellationToken,
        LiveImager.Formats.ImageFormat.ImagePassphrase? passphrase = null)
    {
        lock (OpenedWithPassphrase)
        {
            OpenedWithPassphrase.Add(passphrase is not null);
        }
        if (ImagePassphrase is string expected)
        {
            using var right = new LiveImager.Formats.ImageFormat.ImagePassphrase(expected);
            if (passphrase is null || !passphrase.SameAs(right))
            {
                return Task.FromException<OpenedImage>(new LiveImager.Formats.ImageFormat.ImagePassphraseException("the passphrase is not this image's") { Refused = true });
            }
        }
        return Image is OpenedImage opened ? Task.FromResult(opened) : Task.FromException<OpenedImage>(new InvalidOperationException("no image scripted"));
    }

    public IReadOnlyList<string> CloseImage(OpenedImage image)
    {
        lock (Closed)
        {
            Closed.Add(image);
        }
        return [];
    }

    public Task<JobOutcome> CopyOutAsync(CopyOutRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        Run(request, progress, cancellationToken);

    public async Task<JobOutcome> MulticastSendAsync(MulticastSendRequest request, IProgress<MulticastProgress> progress, CancellationToken cancellationToken)
    {
        Request = request;
        Token = cancellationToken;
        _sending.SetResult(progress);
        return await _end.Task.WaitAsync(cancellationToken);
    }

    public Task<JobOutcome> MulticastReceiveAsync(MulticastReceiveRequest request, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        Run(request, progress, cancellationToken);

    private async Task<JobOutcome> Run(object request, IProgress<JobProgress> progress, CancellationToken cancellationToken)
    {
        Request = request;
        Token = cancellationToken;
        _started.SetResult(progress);
        return await _end.Task.WaitAsync(cancellationToken);
    }
}
