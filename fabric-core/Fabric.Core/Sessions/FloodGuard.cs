namespace Fabric.Core.Sessions;

/// <summary>Kinds of peer behaviour that cost us work without carrying data, each capped per second.</summary>
internal enum FloodKind
{
    Ping,
    Reset,
    EmptyData,
    RefusedOpen,
    ControlFrame,
}

/// <summary>
/// Counts cheap-to-send, costly-to-serve frames over one-second windows (pings, resets, empty DATA, refused
/// opens, all control frames) and reports when a peer exceeds a cap. Guarded by the session lock.
/// </summary>
internal struct FloodGuard
{
    private long _windowStart;
    private int _pings, _resets, _empty, _refused, _control;

    /// <summary>Records one event; returns false when the cap for its kind is exceeded in the current window.</summary>
    public bool TryRecord(FloodKind kind, long nowTimestamp, FloodLimits limits, TimeProvider time)
    {
        if (time.GetElapsedTime(_windowStart, nowTimestamp) >= TimeSpan.FromSeconds(1))
        {
            _windowStart = nowTimestamp;
            _pings = _resets = _empty = _refused = _control = 0;
        }

        return kind switch
        {
            FloodKind.Ping => ++_pings <= limits.MaxPingsPerSecond,
            FloodKind.Reset => ++_resets <= limits.MaxResetsPerSecond,
            FloodKind.EmptyData => ++_empty <= limits.MaxEmptyDataPerSecond,
            FloodKind.RefusedOpen => ++_refused <= limits.MaxRefusedOpensPerSecond,
            _ => ++_control <= limits.MaxControlFramesPerSecond,
        };
    }
}
