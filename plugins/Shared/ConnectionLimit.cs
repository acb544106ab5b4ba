using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Fabric.Plugins.Shared;

/// <summary>
/// Caps the client connections a driver's listeners hold at once. A connection past the cap is closed as it is
/// accepted, before a byte of it is read, so a flood of idle or slow connections cannot take the gateway's memory
/// and file descriptors. Each one is counted (<paramref name="countRejected"/>, a metric) and the cap being reached
/// is logged at most every 10 seconds.
/// </summary>
internal sealed partial class ConnectionLimit(string driver, int max, ILogger logger, Action countRejected)
{
    private const long LogEveryMs = 10_000;
    private int _open;
    private long _rejected;
    private long _lastLog = -LogEveryMs;

    /// <summary>Connections open now on the listeners this limit is attached to.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections closed at accept because the cap was reached.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Kestrel connection middleware (<c>ListenOptions.Use</c>), for each listener that shares this cap.</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _open) > max)
        {
            Interlocked.Decrement(ref _open);
            Reject();
            connection.Abort(new ConnectionAbortedException($"more than {max} connections"));
            return;
        }

        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };

    private void Reject()
    {
        Interlocked.Increment(ref _rejected);
        countRejected();
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastLog);
        if (now - last >= LogEveryMs && Interlocked.CompareExchange(ref _lastLog, now, last) == last)
        {
            Log.LimitReached(logger, driver, max);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5900, Level = LogLevel.Warning, Message = "{Driver} driver at its connection limit ({Max}): new connections are closed as they arrive (logged at most every 10 s; the driver's connections.rejected counter has them all)")]
        public static partial void LimitReached(ILogger logger, string driver, int max);
    }
}
