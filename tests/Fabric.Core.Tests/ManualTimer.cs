namespace Fabric.Core.Tests;

/// <summary>A timer of <see cref="ManualTimeProvider"/>: fires only when the provider's clock is advanced past its due time.</summary>
internal sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
{
    /// <summary>Due time in the owner's ticks; null when stopped. Guarded by the owner.</summary>
    internal long? DueAt { get; set; }

    /// <summary>Period in ticks; 0 for one-shot. Guarded by the owner.</summary>
    internal long Period { get; set; }

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        owner.Schedule(this, dueTime, period);
        return true;
    }

    internal void Fire() => callback(state);

    public void Dispose() => owner.Remove(this);

    public ValueTask DisposeAsync()
    {
        owner.Remove(this);
        return default;
    }
}
