using System.Net;

namespace Fabric.Abstractions;

/// <summary>
/// The fabric as a plugin sees it: open streams to services wherever their replicas live, handle the streams of a
/// subprotocol, host services. Everything below (links, encryption, routing, relays) is the host's business.
/// </summary>
public interface IFabric
{
    /// <summary>This node's name.</summary>
    string NodeName { get; }

    /// <summary>This node's id (64 hex digits).</summary>
    string NodeId { get; }

    /// <summary>
    /// Opens a stream to a replica of <paramref name="service"/> that speaks <paramref name="subprotocol"/>. Throws
    /// <see cref="FabricOpenException"/> when no replica accepts (the code says why).
    /// </summary>
    Task<FabricConnection> OpenAsync(string service, ushort subprotocol, FabricOpenOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Registers the handler for incoming streams of a subprotocol listed in the plugin's manifest. Dispose to unregister.</summary>
    IDisposable Handle(SubprotocolInfo subprotocol, Func<FabricIncoming, CancellationToken, Task> handler);

    /// <summary>Hosts a replica of a service on this node (announced to the fabric). Dispose to withdraw it.</summary>
    IDisposable HostService(FabricServiceInfo service);

    /// <summary>Marks a hosted replica healthy, degraded, draining or unhealthy.</summary>
    void SetServiceHealth(string service, string instance, FabricServiceHealth health);

    /// <summary>The replicas the fabric knows of a service (for building destination lists).</summary>
    IReadOnlyList<FabricReplicaInfo> FindReplicas(string service, ushort subprotocol);

    /// <summary>Raised (on any thread) when the set of known replicas may have changed.</summary>
    event Action? ReplicasChanged;
}

/// <summary>A subprotocol a plugin handles.</summary>
public sealed record SubprotocolInfo(ushort Id, string Name, Version Version, Version MinCompatible);

/// <summary>A replica to host.</summary>
public sealed record FabricServiceInfo(string Service, string Instance, IReadOnlyList<ushort> Subprotocols, int Weight = 100, int Priority = 0);

/// <summary>Health of a hosted replica.</summary>
public enum FabricServiceHealth
{
    /// <summary>Serving.</summary>
    Healthy,

    /// <summary>Serving, preferably less.</summary>
    Degraded,

    /// <summary>Finishing open work, taking nothing new.</summary>
    Draining,

    /// <summary>Not serving.</summary>
    Unhealthy,
}

/// <summary>A replica the fabric knows.</summary>
public sealed record FabricReplicaInfo(string Key, string Service, string Instance, string NodeName, int Hops, TimeSpan Rtt, int Pressure, int Weight, int Priority, FabricServiceHealth Health, bool IsLocal);

/// <summary>Scheduling class of a stream's data.</summary>
public enum FabricTrafficClass
{
    /// <summary>Fabric control traffic.</summary>
    Control,

    /// <summary>Latency first (request/response).</summary>
    Interactive,

    /// <summary>The default.</summary>
    Reliable,

    /// <summary>Large transfers.</summary>
    Bulk,

    /// <summary>Telemetry; whole writes may be dropped under pressure.</summary>
    Droppable,
}

/// <summary>How to open a stream.</summary>
public sealed record FabricOpenOptions
{
    /// <summary>Scheduling class.</summary>
    public FabricTrafficClass TrafficClass { get; init; } = FabricTrafficClass.Reliable;

    /// <summary>The client the stream is on behalf of (access policy at the destination, forwarded headers).</summary>
    public IPEndPoint? Source { get; init; }

    /// <summary>Use only this replica (its <see cref="FabricReplicaInfo.Key"/>).</summary>
    public string? Replica { get; init; }

    /// <summary>Replicas not to use.</summary>
    public IReadOnlySet<string>? Exclude { get; init; }

    /// <summary>Routing policy by name (Nearest, LeastLoaded, Weighted, PriorityFailover); the node's default when null.</summary>
    public string? Policy { get; init; }
}

/// <summary>An open stream to a replica.</summary>
public abstract class FabricConnection : IAsyncDisposable
{
    /// <summary>The bytes, both ways.</summary>
    public abstract Stream Stream { get; }

    /// <summary>The replica reached.</summary>
    public abstract FabricReplicaInfo Replica { get; }

    /// <summary>True when the stream goes through relays.</summary>
    public abstract bool Relayed { get; }

    /// <summary>Resets the stream with a fabric error code (docs/PROTOCOL.md §1.7).</summary>
    public abstract void Abort(int code);

    /// <summary>Ends this side's writing (half-close); reading goes on.</summary>
    public abstract void CompleteWrites();

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();
}

/// <summary>A stream another node opened to a service this node hosts (what a subprotocol handler receives).</summary>
public abstract class FabricIncoming
{
    /// <summary>The bytes, both ways.</summary>
    public abstract Stream Stream { get; }

    /// <summary>The service it is for.</summary>
    public abstract string Service { get; }

    /// <summary>
    /// The instance of the service the opener chose, among those this node hosts ("" when the opener did not say:
    /// any). A node hosting several instances of one service sends each stream to that instance's backend.
    /// </summary>
    public virtual string Instance => "";

    /// <summary>Its subprotocol.</summary>
    public abstract ushort Subprotocol { get; }

    /// <summary>The client address the ingress node saw, if it said.</summary>
    public abstract IPEndPoint? Source { get; }

    /// <summary>The node that opened it (64 hex digits, authenticated).</summary>
    public abstract string OriginNodeId { get; }

    /// <summary>That node's name, if known.</summary>
    public abstract string? OriginNodeName { get; }

    /// <summary>True when it came through relays.</summary>
    public abstract bool Relayed { get; }

    /// <summary>Resets the stream with a fabric error code.</summary>
    public abstract void Abort(int code);

    /// <summary>Ends this side's writing (half-close); reading goes on.</summary>
    public abstract void CompleteWrites();
}

/// <summary>No replica accepted the stream.</summary>
public sealed class FabricOpenException(int code, string message, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The fabric error code: 0x12 NO_ROUTE, 0x13 ACCESS_DENIED, 0x10 UNKNOWN_SUBPROTOCOL, ...</summary>
    public int Code { get; } = code;
}

/// <summary>Fabric error codes a plugin may meet or send (docs/PROTOCOL.md §1.7).</summary>
public static class FabricErrorCodes
{
    /// <summary>Graceful.</summary>
    public const int NoError = 0x00;

    /// <summary>The stream is not wanted any more.</summary>
    public const int Cancel = 0x07;

    /// <summary>Refused before processing; safe to retry elsewhere.</summary>
    public const int RefusedStream = 0x06;

    /// <summary>The handler failed.</summary>
    public const int InternalError = 0x02;

    /// <summary>No handler for the subprotocol.</summary>
    public const int UnknownSubprotocol = 0x10;

    /// <summary>No reachable replica.</summary>
    public const int NoRoute = 0x12;

    /// <summary>Access policy refused.</summary>
    public const int AccessDenied = 0x13;
}
