using System.Net;

namespace Fabric.Core.Nodes;

/// <summary>A peer this node dials: its address and the static public key it must prove (null only on plaintext links).</summary>
public sealed record PeerEndpoint(EndPoint Address, byte[]? PublicKey);
