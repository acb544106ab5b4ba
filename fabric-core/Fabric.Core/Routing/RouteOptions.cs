using System.Net;
using Fabric.Core.Sessions;

namespace Fabric.Core.Routing;

/// <summary>How one routed stream is opened.</summary>
public sealed record RouteOptions
{
    /// <summary>Ranking of the replicas (the node's default when null).</summary>
    public RoutingPolicy? Policy { get; init; }

    /// <summary>Scheduling class of the stream.</summary>
    public TrafficClass TrafficClass { get; init; } = TrafficClass.Reliable;

    /// <summary>The client address the stream is on behalf of (access policy, forwarded headers).</summary>
    public IPEndPoint? Source { get; init; }

    /// <summary>Replicas not to use (keys from <see cref="RoutedStream.Replica"/>), e.g. ones that failed a request.</summary>
    public IReadOnlySet<string>? Exclude { get; init; }

    /// <summary>Only this replica (key), as an HTTP destination pinned to one replica does.</summary>
    public string? Only { get; init; }
}
