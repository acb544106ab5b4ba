using System.Threading.Tasks.Sources;

namespace Fabric.Core.Sessions;

/// <summary>
/// An auto-reset event for exactly one waiter, awaited without allocation (a reusable
/// <see cref="IValueTaskSource"/>). A <see cref="Set"/> with no waiter is remembered, so no wake-up is lost.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private readonly Lock _lock = new();
    private ManualResetValueTaskSourceCore<bool> _core;
    private bool _signaled;
    private bool _waiting;

    public AsyncSignal(bool runContinuationsAsynchronously = true)
    {
        _core.RunContinuationsAsynchronously = runContinuationsAsynchronously;
    }

    public ValueTask WaitAsync()
    {
        lock (_lock)
        {
            if (_signaled)
            {
                _signaled = false;
                return default;
            }

            if (_waiting)
            {
                throw new InvalidOperationException("AsyncSignal supports a single waiter.");
            }

            _core.Reset();
            _waiting = true;
            return new ValueTask(this, _core.Version);
        }
    }

    public void Set()
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                _signaled = true;
                return;
            }

            _waiting = false;
        }

        _core.SetResult(true);
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
