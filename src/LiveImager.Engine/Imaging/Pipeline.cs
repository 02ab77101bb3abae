using System.Runtime.ExceptionServices;

namespace LiveImager.Engine.Imaging;

/// <summary>Runs a job's stages together under one linked cancellation: the first stage to fail cancels the others,
/// and its error, not the cancellations it caused, is the one reported (STYLE.md habit 9).</summary>
internal sealed class Pipeline : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationToken _caller;
    private readonly List<Task> _stages = [];
    private Exception? _firstFault;

    public Pipeline(CancellationToken caller)
    {
        _caller = caller;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(caller);
    }

    /// <summary>Cancelled by the caller or by the first fault.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>Starts a stage on its own thread: stages block on pool buffers and device I/O.</summary>
    public void Start(string name, Action stage)
    {
        _stages.Add(Task.Factory.StartNew(() =>
        {
            try
            {
                stage();
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
            {
                // Cancelled because another stage failed or the caller asked; that stage's error is the one reported.
            }
            catch (Exception e)
            {
                Fault(e);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
    }

    /// <summary>Records <paramref name="error"/> if it is the first, and cancels every stage.</summary>
    public void Fault(Exception error)
    {
        Interlocked.CompareExchange(ref _firstFault, error, null);
        _cancel.Cancel();
    }

    /// <summary>Ends every stage early without an error: what is left to do has no one to do it for.</summary>
    public void Stop() => _cancel.Cancel();

    /// <summary>Waits for every stage; throws the first fault, or <see cref="OperationCanceledException"/> when the caller cancelled.</summary>
    public void Wait()
    {
        Task.WaitAll([.. _stages]);
        if (_firstFault is not null)
        {
            ExceptionDispatchInfo.Throw(_firstFault);
        }
        _caller.ThrowIfCancellationRequested();
    }

    public void Dispose() => _cancel.Dispose();
}
