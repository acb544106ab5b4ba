namespace Fabric.Core.Discovery;

/// <summary>
/// One replica of a service, as its node announces it: the service name, an instance name unique on that node, the
/// subprotocols it is reached with, a weight and a priority for routing policies, and its health.
/// </summary>
public sealed record ServiceReplica(string Service, string Instance, IReadOnlyList<ushort> Subprotocols, ushort Weight = 100, byte Priority = 0, ReplicaHealth Health = ReplicaHealth.Healthy)
{
    /// <summary>Largest service or instance name, UTF-8 bytes.</summary>
    public const int MaxNameBytes = 255;

    /// <summary>Most subprotocols one replica lists.</summary>
    public const int MaxSubprotocols = 16;
}
