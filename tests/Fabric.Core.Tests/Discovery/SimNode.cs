using Fabric.Core.Discovery;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Discovery;

/// <summary>A node of the simulated network: its identity, directory, gossip and channels by peer name.</summary>
internal sealed class SimNode(string name, NodeIdentity identity)
{
    public string Name { get; } = name;

    public NodeIdentity Identity { get; } = identity;

    public NodeId Id => Identity.Id;

    public ServiceDirectory Directory { get; set; } = null!;

    public DirectoryGossip Gossip { get; set; } = null!;

    public ulong Sequence { get; set; }

    public Dictionary<string, SimChannel> Channels { get; } = [];

    public override string ToString() => Name;
}
