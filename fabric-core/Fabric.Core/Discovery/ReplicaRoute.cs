using Fabric.Core.Security;

namespace Fabric.Core.Discovery;

/// <summary>A replica the directory knows, with how to reach it.</summary>
public sealed record ReplicaRoute(
    ServiceReplica Replica,
    NodeId Origin,
    string OriginName,
    NodeId NextHop,
    int Hops,
    TimeSpan Rtt,
    byte Pressure,
    bool IsLocal,
    DateTimeOffset ExpiresAt)
{
    /// <summary>A printable key for this replica (origin short id / instance).</summary>
    public string Key => $"{Origin.ShortForm}/{Replica.Instance}";
}
