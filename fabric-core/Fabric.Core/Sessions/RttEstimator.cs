namespace Fabric.Core.Sessions;

/// <summary>Smoothed and minimum round-trip time from PING/PONG samples (RFC 6298 smoothing, alpha = 1/8).</summary>
internal struct RttEstimator
{
    private long _smoothedTicks;
    private long _minTicks;

    public readonly bool HasSample => _smoothedTicks > 0;

    public readonly TimeSpan Smoothed => TimeSpan.FromTicks(_smoothedTicks);

    public readonly TimeSpan Min => TimeSpan.FromTicks(_minTicks);

    public void AddSample(TimeSpan sample)
    {
        long ticks = Math.Max(1, sample.Ticks);
        _smoothedTicks = _smoothedTicks == 0 ? ticks : _smoothedTicks + ((ticks - _smoothedTicks) / 8);
        _minTicks = _minTicks == 0 ? ticks : Math.Min(_minTicks, ticks);
    }
}
