namespace Fabric.Core.Discovery;

/// <summary>Directory counters, safe to read from any thread.</summary>
public sealed class DirectoryStatistics
{
    private readonly long[] _ignored = new long[(int)IgnoredReason.Stale + 1];
    private long _accepted;
    private long _withdrawn;
    private long _expired;
    private long _signaturesVerified;

    /// <summary>Announcements taken.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Origins removed because no path was left.</summary>
    public long Withdrawn => Interlocked.Read(ref _withdrawn);

    /// <summary>Origins removed because their TTL ran out.</summary>
    public long Expired => Interlocked.Read(ref _expired);

    /// <summary>Signature verifications done (an announcement already held is not verified again).</summary>
    public long SignaturesVerified => Interlocked.Read(ref _signaturesVerified);

    /// <summary>Announcements ignored for <paramref name="reason"/>.</summary>
    public long Ignored(IgnoredReason reason) => Interlocked.Read(ref _ignored[(int)reason]);

    internal void OnAccepted() => Interlocked.Increment(ref _accepted);

    internal void OnWithdrawn() => Interlocked.Increment(ref _withdrawn);

    internal void OnExpired() => Interlocked.Increment(ref _expired);

    internal void OnVerified() => Interlocked.Increment(ref _signaturesVerified);

    internal void OnIgnored(IgnoredReason reason) => Interlocked.Increment(ref _ignored[(int)reason]);
}
