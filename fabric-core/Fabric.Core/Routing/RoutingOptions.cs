namespace Fabric.Core.Routing;

/// <summary>Node-wide routing settings.</summary>
public sealed record RoutingOptions
{
    /// <summary>Default ranking.</summary>
    public RoutingPolicy Policy { get; init; } = RoutingPolicy.Nearest;

    /// <summary>Replicas tried for one open before giving up.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Time for the destination to accept a stream (and, through relays, for the end-to-end handshake).</summary>
    public TimeSpan OpenTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a replica that failed an open is skipped (passive health).</summary>
    public TimeSpan EjectionTime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most relay hops a stream may take.</summary>
    public int MaxRelayHops { get; init; } = 8;

    /// <summary>
    /// Serve streams to this node's own replicas in process (the default). When false they go over this node's link to
    /// itself, when it has one, exactly as they would to another node (a single node then exercises the whole fabric).
    /// </summary>
    public bool ServeLocalInProcess { get; init; } = true;

    /// <summary>
    /// How long a stopping node announces its replicas as draining before it sends GOAWAY on its links: time for the
    /// other nodes to stop choosing them (and for their pools to let idle streams go) while everything still works.
    /// Zero sends GOAWAY at once.
    /// </summary>
    public TimeSpan DrainNotice { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often this node's pressure is re-announced at most.</summary>
    public TimeSpan MinAnnounceInterval { get; init; } = TimeSpan.FromSeconds(1);
}
