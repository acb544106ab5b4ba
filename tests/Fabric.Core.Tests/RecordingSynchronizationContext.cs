namespace Fabric.Core.Tests;

/// <summary>A synchronization context (as a UI thread would have) that counts what is posted to it and runs it on the thread pool.</summary>
internal sealed class RecordingSynchronizationContext : SynchronizationContext
{
    private int _posts;

    public int Posts => Volatile.Read(ref _posts);

    public override void Post(SendOrPostCallback d, object? state)
    {
        Interlocked.Increment(ref _posts);
        ThreadPool.QueueUserWorkItem(_ => d(state));
    }

    public override void Send(SendOrPostCallback d, object? state) => d(state);
}
