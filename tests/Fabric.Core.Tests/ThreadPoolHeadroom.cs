namespace Fabric.Core.Tests;

/// <summary>
/// Raises the thread pool's minimum thread count. On a two-core machine the test host starves the pool for up to
/// a second early in a run (measured with no session code at all: a queued work item waited 600-900 ms), which
/// would stall PING/PONG and fail keepalive and timeout tests for reasons that are not the session's.
/// </summary>
public sealed class ThreadPoolHeadroom
{
    public ThreadPoolHeadroom()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));
    }
}
