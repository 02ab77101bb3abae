using System.Runtime.InteropServices;

namespace LiveImager.Cli;

/// <summary>Turns Ctrl-C and SIGTERM into a cancellation the Engine's jobs honour, so they stop cleanly (partial image
/// removed, device closed) instead of the process dying mid-write.</summary>
internal sealed class CliCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public CliCancellation()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
    }

    public CancellationToken Token => _source.Token;

    private void Cancel(PosixSignalContext context)
    {
        // The first signal asks the job to stop; the process ends when the job has cleaned up.
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }
}
