using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Fabric.Core.Nodes;

/// <summary>How a node links to others: where it listens, whom it dials, and the settings of each layer.</summary>
public sealed record FabricNodeOptions
{
    /// <summary>Name used in logs.</summary>
    public string Name { get; init; } = "node";

    /// <summary>Address links are accepted on; null for a node that only dials.</summary>
    public IPEndPoint? Listen { get; init; }

    /// <summary>Peers to dial and keep linked (redialed with backoff and jitter).</summary>
    public IReadOnlyList<PeerEndpoint> Peers { get; init; } = [];

    /// <summary>Secure link settings (PSK, ciphers, key lifetimes, handshake limits).</summary>
    public SecureLinkOptions Security { get; init; } = new();

    /// <summary>Session settings of every link.</summary>
    public FabricSessionOptions Session { get; init; } = new();

    /// <summary>Socket settings of every link.</summary>
    public TcpLinkOptions Tcp { get; init; } = new();

    /// <summary>
    /// Runs sessions over plain TCP without authentication or encryption. For tests and benchmarks only; the node
    /// logs a warning at every start when it is set.
    /// </summary>
    public bool Plaintext { get; init; }

    /// <summary>Roles this node announces; only a node with the <c>relay</c> role forwards streams for others.</summary>
    public IReadOnlyList<string> Roles { get; init; } = ["entry", "relay", "exit", "service-host"];

    /// <summary>Service directory settings.</summary>
    public Discovery.DirectoryOptions Directory { get; init; } = new();

    /// <summary>Routing settings.</summary>
    public Routing.RoutingOptions Routing { get; init; } = new();

    /// <summary>Who may open streams to this node's services (allow all when null).</summary>
    public Policy.AccessPolicy? AccessPolicy { get; init; }

    /// <summary>First redial delay after a link fails; doubles up to <see cref="ReconnectMaxDelay"/>, with jitter.</summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest redial delay.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);
}
