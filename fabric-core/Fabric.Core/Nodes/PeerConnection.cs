using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Fabric.Core.Nodes;

/// <summary>One live link of a node: the peer, the session on it, how it came about.</summary>
public sealed class PeerConnection
{
    internal PeerConnection(NodeId peerId, string? peerName, string remote, FabricSession session, bool dialed, bool authenticated, DateTimeOffset since, SecureLink? secureLink = null)
    {
        SecureLink = secureLink;
        PeerId = peerId;
        PeerName = peerName;
        Remote = remote;
        Session = session;
        Dialed = dialed;
        Authenticated = authenticated;
        Since = since;
    }

    /// <summary>The peer's node id.</summary>
    public NodeId PeerId { get; }

    /// <summary>The peer's name from its certificate, if any.</summary>
    public string? PeerName { get; }

    /// <summary>Where the link goes.</summary>
    public string Remote { get; }

    /// <summary>The session over the link.</summary>
    public FabricSession Session { get; }

    /// <summary>True when this node dialed the link.</summary>
    public bool Dialed { get; }

    /// <summary>False on a plaintext link: the peer id is only claimed, not proven.</summary>
    public bool Authenticated { get; }

    /// <summary>When the link came up.</summary>
    public DateTimeOffset Since { get; }

    /// <summary>The secure link under the session (cipher, key updates, record counters); null on a plaintext link.</summary>
    public SecureLink? SecureLink { get; }

    /// <summary>The subprotocols both ends handle at compatible versions (after the peer's MANIFEST).</summary>
    public Subprotocols.NegotiatedSubprotocols Negotiated { get; internal set; } = Subprotocols.NegotiatedSubprotocols.None;
}
