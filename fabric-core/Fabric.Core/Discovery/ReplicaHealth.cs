namespace Fabric.Core.Discovery;

/// <summary>How a replica's own node sees it.</summary>
public enum ReplicaHealth : byte
{
    /// <summary>Serving.</summary>
    Healthy = 0,

    /// <summary>Serving, but should get less traffic (used after healthy ones of equal rank).</summary>
    Degraded = 1,

    /// <summary>Draining: finish what is open, take nothing new.</summary>
    Draining = 2,

    /// <summary>Not serving.</summary>
    Unhealthy = 3,
}
