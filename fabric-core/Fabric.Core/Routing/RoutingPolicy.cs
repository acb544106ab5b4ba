namespace Fabric.Core.Routing;

/// <summary>How the router ranks the replicas of a service.</summary>
public enum RoutingPolicy
{
    /// <summary>Fewest hops, then lowest RTT, then lowest pressure.</summary>
    Nearest,

    /// <summary>Lowest origin pressure, then fewest hops and lowest RTT.</summary>
    LeastLoaded,

    /// <summary>Random in proportion to the replicas' weights.</summary>
    Weighted,

    /// <summary>Lowest priority value first (failover tiers); nearest within a tier.</summary>
    PriorityFailover,
}
