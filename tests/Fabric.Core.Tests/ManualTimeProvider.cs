namespace Fabric.Core.Tests;

/// <summary>
/// A clock that moves only when told to. Timestamps are in ticks of 100 ns; timers created from it fire
/// synchronously inside <see cref="Advance"/> when their due time is reached.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Lock _sync = new();
    private readonly List<ManualTimer> _timers = [];
    private long _now = TimeSpan.FromDays(1).Ticks; // never 0: the session uses 0 as "no timestamp yet"

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_sync)
        {
            return _now;
        }
    }

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward and runs every timer that falls due, in order, on this thread.</summary>
    public void Advance(TimeSpan by)
    {
        long target;
        lock (_sync)
        {
            target = _now + by.Ticks;
        }

        while (true)
        {
            ManualTimer? next = null;
            lock (_sync)
            {
                foreach (ManualTimer t in _timers)
                {
                    if (t.DueAt is { } due && due <= target && (next is null || due < next.DueAt))
                    {
                        next = t;
                    }
                }

                if (next is null)
                {
                    _now = target;
                    return;
                }

                _now = Math.Max(_now, next.DueAt!.Value);
                next.DueAt = next.Period > 0 ? _now + next.Period : null;
            }

            next.Fire();
        }
    }

    internal void Schedule(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_sync)
        {
            _timers.Remove(timer);
            timer.Period = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            timer.DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : _now + dueTime.Ticks;
            _timers.Add(timer);
        }
    }

    internal void Remove(ManualTimer timer)
    {
        lock (_sync)
        {
            _timers.Remove(timer);
        }
    }
}
