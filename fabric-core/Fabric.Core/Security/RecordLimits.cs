namespace Fabric.Core.Security;

/// <summary>
/// When keys are replaced and when an old key is refused. A sender moves to the next key generation after
/// <see cref="RekeyAfterRecords"/> records or <see cref="RekeyAfterTime"/>; a receiver refuses records under a key
/// older than <see cref="RejectAfterTime"/> or with a counter at or above <see cref="RejectAfterRecords"/>.
/// </summary>
public sealed record RecordLimits
{
    /// <summary>Records per key before the sender updates it (2^60).</summary>
    public ulong RekeyAfterRecords { get; init; } = 1UL << 60;

    /// <summary>Counter at which a key is refused outright (2^60 + 2^13).</summary>
    public ulong RejectAfterRecords { get; init; } = (1UL << 60) + (1UL << 13);

    /// <summary>Age at which the sender updates its key.</summary>
    public TimeSpan RekeyAfterTime { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Age past which a receiver refuses a key the sender failed to update.</summary>
    public TimeSpan RejectAfterTime { get; init; } = TimeSpan.FromSeconds(180);
}
